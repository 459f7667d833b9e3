package dev.llamaserve.config;

import dev.llamaserve.api.openai.ServedModel;
import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.chat.PromptDryRun;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.ops.lifecycle.LifecycleEngine;
import dev.llamaserve.ops.lifecycle.ModelLifecycle;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Lazy;

/**
 * Wires the engine and the chat format around the background model load ({@link LifecycleConfiguration}).
 * The {@link InferenceEngine} exists from startup and refuses (503) until
 * the model is loaded. The beans made from the loaded model (tokenizer, model info, chat format, prompt dry
 * run) are {@link Lazy}: created on first use, which waits for the load; the web routes that use them are
 * only reached once the model is ready.
 */
@Configuration(proxyBeanMethods = false)
public class EngineConfiguration {

    @Bean(destroyMethod = "close")
    InferenceEngine inferenceEngine(ModelLifecycle lifecycle) {
        return new LifecycleEngine(lifecycle);
    }

    @Bean(destroyMethod = "")
    @Lazy
    LlamaTokenizer llamaTokenizer(ModelLifecycle lifecycle, ModelLoading loading) {
        lifecycle.awaitLoaded();
        return loading.runtime().tokenizer();
    }

    @Bean
    @Lazy
    ModelInfo modelInfo(ModelLifecycle lifecycle) {
        return lifecycle.awaitLoaded().modelInfo();
    }

    @Bean
    @Lazy
    ChatFormat chatFormat(LlamaTokenizer tokenizer, LlmProperties props) {
        return new ChatFormat(tokenizer, props.chat().options());
    }

    @Bean
    @Lazy
    PromptDryRun promptDryRun(LlamaTokenizer tokenizer, ChatFormat chatFormat) {
        return new PromptDryRun(tokenizer, chatFormat);
    }

    @Bean
    ServedModel servedModel(LlmProperties props) {
        return new ServedModel(ModelRuntime.servedName(props), props.model().aliases());
    }
}
