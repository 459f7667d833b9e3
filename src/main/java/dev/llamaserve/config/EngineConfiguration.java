package dev.llamaserve.config;

import dev.llamaserve.api.openai.ServedModel;
import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.chat.ChatOptions;
import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.chat.PromptDryRun;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.core.EngineOptions;
import dev.llamaserve.engine.core.LlmEngine;
import dev.llamaserve.engine.model.GenerationConfig;
import dev.llamaserve.engine.sampling.SamplingDefaults;
import java.util.Locale;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Wires the model runtime, the engine and the chat format. */
@Configuration(proxyBeanMethods = false)
public class EngineConfiguration {

    @Bean(destroyMethod = "close")
    ModelRuntime modelRuntime(LlmProperties props) {
        return ModelRuntime.load(props);
    }

    @Bean
    LlamaTokenizer llamaTokenizer(ModelRuntime runtime) {
        return runtime.tokenizer();
    }

    @Bean
    ModelInfo modelInfo(ModelRuntime runtime) {
        GenerationConfig g = runtime.generationConfig();
        return new ModelInfo(runtime.plan().maxModelLen(), runtime.model().config().vocabSize(),
                g.stopTokenIds(runtime.model().config()), g.defaultTemperature(), g.defaultTopP(), runtime.demo());
    }

    @Bean(destroyMethod = "close")
    InferenceEngine inferenceEngine(ModelRuntime runtime, ModelInfo info, LlmProperties props) {
        LlmProperties.Engine e = props.engine();
        EngineOptions options = EngineOptions.defaults()
                .withMaxNumBatchedTokens(e.maxNumBatchedTokens())
                .withMaxNumSeqs(e.maxNumSeqs())
                .withMaxWaiting(e.maxWaiting())
                .withMaxBufferedEvents(e.maxBufferedEvents())
                .withBlockSize(e.blockSize())
                .withKvTokenBudget(Math.toIntExact(runtime.plan().kvTokens()));
        GenerationConfig g = runtime.generationConfig();
        SamplingDefaults defaults = new SamplingDefaults(g.defaultTemperature(), g.defaultTopP(), g.defaultTopK(),
                info.eosTokenIds());
        return LlmEngine.start(runtime.model(), runtime.tokenizer(), info, defaults, options);
    }

    @Bean
    ChatFormat chatFormat(LlamaTokenizer tokenizer, LlmProperties props) {
        LlmProperties.Chat c = props.chat();
        return new ChatFormat(tokenizer, new ChatOptions(c.dateString(), c.rejectSpecialTokens(), c.maxMessages(),
                ChatOptions.Enabled.valueOf(c.enabled().trim().toUpperCase(Locale.ROOT))));
    }

    @Bean
    PromptDryRun promptDryRun(LlamaTokenizer tokenizer, ChatFormat chatFormat) {
        return new PromptDryRun(tokenizer, chatFormat);
    }

    @Bean
    ServedModel servedModel(ModelRuntime runtime, LlmProperties props) {
        return new ServedModel(runtime.servedName(), props.model().aliases());
    }
}
