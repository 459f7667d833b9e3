package dev.llamaserve.engine.model;

import static dev.llamaserve.engine.model.TinyFixture.fixture;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Quantization}: the setting, which weights it quantizes, their bytes, and the already-quantized refusal. */
class QuantizationTest {

    private static final ModelConfig LLAMA_8B = ModelConfigParser.parse(fixture("llama-3.1-8b-instruct/config.json"));
    private static final ModelConfig TINY = ModelConfigParser.parse(fixture("tiny-llama31/config.json"));

    @Test
    void parsesTheSettingAndNamesThePropertyForAnUnknownValue() {
        assertThat(Quantization.parse(null)).isEqualTo(Quantization.NONE);
        assertThat(Quantization.parse(" INT8 ")).isEqualTo(Quantization.INT8);
        assertThat(Quantization.parse("int8-lm-head")).isEqualTo(Quantization.INT8_LM_HEAD);
        assertThat(Quantization.parse("W8A8")).isEqualTo(Quantization.W8A8);
        assertThat(Quantization.parse("w8a8-lm-head")).isEqualTo(Quantization.W8A8_LM_HEAD);
        assertThatThrownBy(() -> Quantization.parse("int4"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("llm.model.quantization must be none, int8, int8-lm-head, w8a8 or w8a8-lm-head, was 'int4'");
    }

    @Test
    void int8QuantizesTheSevenProjectionsOfEveryLayerAndLmHeadOnlyWhenAsked() {
        long quantized = LLAMA_8B.tensorShapes().keySet().stream().filter(Quantization.INT8::quantizes).count();
        assertThat(quantized).isEqualTo(7 * 32);
        assertThat(Quantization.INT8.quantizes("model.layers.3.mlp.down_proj.weight")).isTrue();
        assertThat(Quantization.INT8.quantizes("model.layers.3.input_layernorm.weight")).isFalse();
        assertThat(Quantization.INT8.quantizes("model.embed_tokens.weight")).isFalse();
        assertThat(Quantization.INT8.quantizes("lm_head.weight")).isFalse();
        assertThat(Quantization.INT8_LM_HEAD.quantizes("lm_head.weight")).isTrue();
        assertThat(Quantization.INT8_LM_HEAD.quantizes("model.embed_tokens.weight")).isFalse();
        assertThat(Quantization.NONE.quantizes("model.layers.0.self_attn.q_proj.weight")).isFalse();
    }

    @Test
    void w8a8QuantizesTheSameWeightsAsInt8AndTheActivationsToo() {
        for (String name : LLAMA_8B.tensorShapes().keySet()) {
            assertThat(Quantization.W8A8.quantizes(name)).as(name).isEqualTo(Quantization.INT8.quantizes(name));
            assertThat(Quantization.W8A8_LM_HEAD.quantizes(name)).as(name)
                    .isEqualTo(Quantization.INT8_LM_HEAD.quantizes(name));
        }
        assertThat(Quantization.W8A8.quantizes("lm_head.weight")).isFalse();
        assertThat(Quantization.W8A8_LM_HEAD.quantizes("lm_head.weight")).isTrue();
        assertThat(Quantization.W8A8_LM_HEAD.weightBytes(LLAMA_8B, 2))
                .isEqualTo(Quantization.INT8_LM_HEAD.weightBytes(LLAMA_8B, 2));
        assertThat(Quantization.values()).filteredOn(Quantization::int8Activations)
                .containsExactly(Quantization.W8A8, Quantization.W8A8_LM_HEAD);
    }

    @Test
    void weightBytes() {
        assertThat(Quantization.NONE.weightBytes(LLAMA_8B, 2)).isEqualTo(LLAMA_8B.parameterCount() * 2);
        // tiny: per layer q 64×64, k/v 32×64, o 64×64, gate/up 192×64, down 64×192 = 49,152 int8
        // + (64+32+32+64+192+192+64) × 2 bytes of scales = 1,280; embed and lm_head 768×64 × 2 each; norms 5×64 × 2
        assertThat(Quantization.INT8.weightBytes(TINY, 2)).isEqualTo(2 * (49_152 + 1_280) + 2 * 98_304 + 640);
        assertThat(Quantization.INT8_LM_HEAD.weightBytes(TINY, 2)).isEqualTo(2 * (49_152 + 1_280) + 98_304 + 49_152
                + 768 * 2 + 640);
        // tied embeddings: the embedding stays, lm_head comes on top as int8
        ModelConfig tied = new ModelConfig("LlamaForCausalLM", 64, 2, 4, 2, 16, 192, 1e-5, 500000, TINY.ropeScaling(),
                131072, true, 768, 512, TINY.eosTokenIds(), "bfloat16");
        assertThat(Quantization.INT8_LM_HEAD.weightBytes(tied, 2) - Quantization.INT8.weightBytes(tied, 2))
                .isEqualTo(49_152 + 768 * 2);
    }

    /** libtorch's int8 pack kernel has no tail: an in of 200 ended the JVM (SIGSEGV); such weights are widened. */
    @Test
    void theInt8PackKernelOnlyTakesShapesItsLoopsCover() {
        var cpu = dev.llamaserve.engine.device.DevicePlanner.cpu();
        assertThat(Int8Weights.usesPack(Quantization.INT8, ComputeDType.BFLOAT16, cpu, TINY)).isTrue();
        ModelConfig inter200 = new ModelConfig("LlamaForCausalLM", 64, 2, 4, 2, 16, 200, 1e-5, 500000,
                TINY.ropeScaling(), 131072, false, 768, 512, TINY.eosTokenIds(), "bfloat16");
        assertThat(Int8Weights.usesPack(Quantization.INT8, ComputeDType.BFLOAT16, cpu, inter200)).isFalse();
        assertThat(Int8Weights.usesPack(Quantization.NONE, ComputeDType.BFLOAT16, cpu, TINY)).isFalse();
    }

    @Test
    void aDecodeStepReadsTheEmbeddingTableOnlyWhereItIsLmHead() {
        long table = 768 * 64 * 2;
        // untied: the step multiplies by lm_head and reads one row of embed_tokens
        assertThat(Quantization.NONE.decodeReadBytes(TINY, 2)).isEqualTo(Quantization.NONE.weightBytes(TINY, 2) - table);
        assertThat(Quantization.INT8.decodeReadBytes(TINY, 2)).isEqualTo(Quantization.INT8.weightBytes(TINY, 2) - table);
        ModelConfig tied = new ModelConfig("LlamaForCausalLM", 64, 2, 4, 2, 16, 192, 1e-5, 500000, TINY.ropeScaling(),
                131072, true, 768, 512, TINY.eosTokenIds(), "bfloat16");
        // tied: lm_head is the table (all read), unless int8-lm-head gives lm_head its own int8 copy
        assertThat(Quantization.NONE.decodeReadBytes(tied, 2)).isEqualTo(Quantization.NONE.weightBytes(tied, 2));
        assertThat(Quantization.INT8.decodeReadBytes(tied, 2)).isEqualTo(Quantization.INT8.weightBytes(tied, 2));
        assertThat(Quantization.INT8_LM_HEAD.decodeReadBytes(tied, 2))
                .isEqualTo(Quantization.INT8_LM_HEAD.weightBytes(tied, 2) - table);
        // Llama-3.1-8B in bf16: 16.06 GB resident, 15.01 GB read per token
        assertThat(Quantization.NONE.decodeReadBytes(LLAMA_8B, 2)).isEqualTo(16_060_522_496L - 128_256L * 4096 * 2);
    }

    @Test
    void int8OnAnAlreadyQuantizedCheckpointFailsNamingTheProperty(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llama\", \"quantization_config\":"
                + " {\"quant_method\": \"fbgemm_fp8\", \"activation_scale_ub\": 1200.0}}");
        assertThatThrownBy(() -> Quantization.INT8.requireFloatCheckpoint(dir))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("llm.model.quantization=int8 needs a float")
                .hasMessageContaining("quant_method=fbgemm_fp8")
                .hasMessageContaining("llm.model.quantization=none");
        assertThatCode(() -> Quantization.NONE.requireFloatCheckpoint(dir)).doesNotThrowAnyException();
        assertThatCode(() -> Quantization.INT8.requireFloatCheckpoint(TinyFixture.dir())).doesNotThrowAnyException();
    }
}
