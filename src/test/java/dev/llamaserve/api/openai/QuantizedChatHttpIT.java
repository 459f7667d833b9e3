package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.LlamaServeApplication;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * A chat completion over HTTP from the REAL engine with {@code llm.model.quantization=int8} and
 * {@code llm.engine.kv-cache-dtype=float8_e4m3} (a server of its own: the demo checkpoint's linears quantized to
 * int8 at load, K and V stored as float8 e4m3, the pool and its scales zero-filled at load by
 * {@code llm.engine.kv-cache-pre-touch=true}). The startup log says so (the memory plan and the loader), and
 * greedy decoding gives the same tokens twice.
 */
@ExtendWith(OutputCaptureExtension.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        classes = LlamaServeApplication.class,
        properties = {
                "llm.model.quantization=int8",
                "llm.engine.kv-cache-dtype=float8_e4m3",
                "llm.engine.kv-cache-pre-touch=true",
                "llm.engine.max-model-len=4096"
        })
class QuantizedChatHttpIT extends HttpTestSupport {

    @Override
    protected String model() {
        return RealEngineWebTest.MODEL;
    }

    @Test
    void chatCompletionWithInt8WeightsAndFloat8Kv(CapturedOutput output) throws Exception {
        greedyChatTwice(8);
        assertThat(output.getAll()).contains("weights quantized to int8", "dtype bfloat16 with int8 linears",
                "bytes/token (float8_e4m3)", "pages of 16, pre-touched)");
    }
}
