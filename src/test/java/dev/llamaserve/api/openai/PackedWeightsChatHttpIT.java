package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.llamaserve.LlamaServeApplication;
import dev.llamaserve.engine.model.CpuFeatures;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.JsonNode;

/**
 * A chat completion over HTTP from the REAL engine with {@code llm.model.packed-weights=true} (a server of its own:
 * the demo checkpoint in bf16 with a oneDNN-packed copy of its linears): the prompt's prefill and a two-choice
 * decode ({@code n: 2}) are multi-row steps, which multiply with the packed copy. The memory plan and the loader
 * say so, and greedy decoding gives the same tokens in both choices. On a CPU without native bf16 the setting is
 * refused at startup (see {@code PackedWeightsIT}), so this skips there, visibly.
 */
@ExtendWith(OutputCaptureExtension.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        classes = LlamaServeApplication.class,
        properties = {
                "llm.model.dtype=bfloat16",
                "llm.model.packed-weights=true",
                "llm.engine.max-model-len=4096"
        })
class PackedWeightsChatHttpIT extends HttpTestSupport {

    @BeforeAll
    static void needsNativeBf16() {
        assumeTrue(CpuFeatures.hasNativeBf16(),
                "this CPU has no avx512_bf16 or amx_bf16: llm.model.packed-weights=true is refused here");
    }

    @Override
    protected String model() {
        return RealEngineWebTest.MODEL;
    }

    @Test
    void chatCompletionWithPackedWeights(CapturedOutput output) throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions",
                chat("\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":8,\"n\":2"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode choices = json(r.body()).get("choices");
        assertThat(choices).hasSize(2);
        String first = choices.get(0).get("message").get("content").asString();
        assertThat(first).isNotEmpty();
        assertThat(choices.get(1).get("message").get("content").asString()).as("greedy: both choices alike")
                .isEqualTo(first);
        assertThat(json(r.body()).get("usage").get("completion_tokens").asInt()).isEqualTo(16);
        assertThat(output.getAll()).contains("a packed copy of the linears (llm.model.packed-weights)",
                "and a oneDNN-packed copy of the linears");
    }
}
