package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.LlamaServeApplication;
import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.InferenceEngine;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;

/**
 * Base of the HTTP tests that run the REAL server on a random port: the real engine (continuous
 * batching) on the built-in random-weight demo checkpoint, the real chat format and tokenizer. Output
 * text is random, so tests make lengths deterministic with {@code ignore_eos} and {@code max_tokens},
 * and text deterministic with {@code temperature: 0}.
 *
 * <p>Every subclass must keep exactly this configuration (no extra properties, no @MockBean, no
 * @DirtiesContext) so Spring's test-context cache shares ONE context (one model load) between them.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        classes = LlamaServeApplication.class,
        properties = {
                "llm.model.aliases=llama3,org/demo-alias",
                "llm.engine.max-model-len=4096",
                "llm.api.keep-alive-interval=300ms",
                "llm.api.max-body-bytes=1MB",
                "llm.api.retry-after=2s"
        })
public abstract class RealEngineWebTest extends HttpTestSupport {

    /** The demo checkpoint's served name. */
    public static final String MODEL = "llama-3.1-demo-random";
    public static final int MAX_MODEL_LEN = 4096;

    @Autowired
    protected InferenceEngine engine;

    @Autowired
    protected LlamaTokenizer tokenizer;

    @Override
    protected String model() {
        return MODEL;
    }

    /** Tests share one engine: start each with nothing running (a previous test's abort may still be settling). */
    @BeforeEach
    void engineIsIdle() throws InterruptedException {
        awaitIdle(Duration.ofSeconds(10));
    }

    protected EngineStats awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        EngineStats s = engine.stats();
        while ((s.running() > 0 || s.waiting() > 0 || s.kvBlocksUsed() > 0) && System.nanoTime() < deadline) {
            Thread.sleep(5);
            s = engine.stats();
        }
        assertThat(s.running() + s.waiting()).as("engine idle: %s", s).isZero();
        return s;
    }

    /** {@code "temperature":0,"ignore_eos":true,"max_tokens":n}: n tokens, the same ones every time. */
    protected static String greedy(int maxTokens) {
        return "\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":" + maxTokens;
    }
}
