package dev.llamaserve.api.openai;

import dev.llamaserve.LlamaServeApplication;
import dev.llamaserve.chat.LlamaTokenizer;
import org.junit.jupiter.api.BeforeEach;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;

/**
 * Base of the few HTTP tests that need a SCRIPTED engine ({@link ScriptedEngine}): a fixed token
 * sequence (the tool-call wire format through real clients, as the issue allows), or what the real
 * engine has no producer for (a long silent prefill, a failure mid-generation, a rate-limit or
 * loading/draining refusal). Everything else is real: the server on a random port, the chat format
 * and its prompt encoder, and the demo checkpoint's tokenizer (the script's ids are real token ids).
 * Every other HTTP test extends {@link RealEngineWebTest}.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        classes = {LlamaServeApplication.class, EngineDoubleWebTest.Doubles.class},
        properties = {
                "llm.model.served-name=meta-llama/Llama-3.1-8B-Instruct",
                "llm.model.aliases=llama3,gpt-4o-mini",
                "llm.api.keep-alive-interval=300ms",
                "llm.api.max-body-bytes=1MB",
                "llm.api.retry-after=2s"
        })
public abstract class EngineDoubleWebTest extends HttpTestSupport {

    public static final String MODEL = "meta-llama/Llama-3.1-8B-Instruct";

    @TestConfiguration(proxyBeanMethods = false)
    static class Doubles {
        @Bean
        @Primary
        ScriptedEngine scriptedEngine(LlamaTokenizer tokenizer) {
            return new ScriptedEngine(tokenizer);
        }
    }

    @Autowired
    protected ScriptedEngine engine;

    @Override
    protected String model() {
        return MODEL;
    }

    @BeforeEach
    void resetDoubles() {
        engine.reset();
    }
}
