package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.LlamaServeApplication;
import dev.llamaserve.engine.model.CpuFeatures;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * A chat completion over HTTP from the REAL engine with {@code llm.model.quantization=w8a8} (a server of its own: the
 * demo checkpoint's linears quantized to int8 at load, every step's rows quantized to int8 per token by the native
 * kernel). Runs where the CPU has AVX-512 BF16 and VNNI (the kernel's instruction set); elsewhere it is disabled,
 * saying so, and {@code W8a8ModelIT} covers the startup error such a CPU gets.
 */
@ExtendWith(OutputCaptureExtension.class)
@EnabledIf(value = "avx512Vnni", disabledReason = "w8a8 needs a CPU with avx512f/bw/vl/dq and avx512_vnni")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        classes = LlamaServeApplication.class,
        properties = {
                "llm.model.quantization=w8a8",
                "llm.engine.max-model-len=4096"
        })
class W8a8ChatHttpIT extends HttpTestSupport {

    static boolean avx512Vnni() {
        return CpuFeatures.flags().containsAll(List.of("avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"));
    }

    @Override
    protected String model() {
        return RealEngineWebTest.MODEL;
    }

    @Test
    void chatCompletionWithInt8WeightsAndInt8Activations(CapturedOutput output) throws Exception {
        greedyChatTwice(8);
        assertThat(output.getAll()).contains("weights quantized to w8a8",
                "rows of every step quantized to int8 per token (w8a8)");
    }
}
