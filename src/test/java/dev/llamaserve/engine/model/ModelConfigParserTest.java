package dev.llamaserve.engine.model;

import static dev.llamaserve.engine.model.TinyFixture.fixture;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.engine.checkpoint.CheckpointException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

class ModelConfigParserTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static ObjectNode config8b() {
        return (ObjectNode) JSON.readTree(fixture("llama-3.1-8b-instruct/config.json").toFile());
    }

    @Test
    void real8bConfigParsesToItsFields() {
        ModelConfig c = ModelConfigParser.parse(fixture("llama-3.1-8b-instruct/config.json"));

        assertThat(c.architecture()).isEqualTo("LlamaForCausalLM");
        assertThat(c.hiddenSize()).isEqualTo(4096);
        assertThat(c.numHiddenLayers()).isEqualTo(32);
        assertThat(c.numAttentionHeads()).isEqualTo(32);
        assertThat(c.numKeyValueHeads()).isEqualTo(8);
        assertThat(c.groupSize()).isEqualTo(4);
        assertThat(c.headDim()).isEqualTo(128);
        assertThat(c.intermediateSize()).isEqualTo(14336);
        assertThat(c.rmsNormEps()).isEqualTo(1e-5);
        assertThat(c.ropeTheta()).isEqualTo(500000.0);
        assertThat(c.ropeScaling()).isEqualTo(new RopeScaling(RopeScaling.Kind.LLAMA3, 8.0, 1.0, 4.0, 8192));
        assertThat(c.maxPositionEmbeddings()).isEqualTo(131072);
        assertThat(c.vocabSize()).isEqualTo(128256);
        assertThat(c.eosTokenIds()).containsExactly(128001, 128008, 128009);
        assertThat(c.bosTokenId()).isEqualTo(128000);
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.torchDtype()).isEqualTo("bfloat16");
    }

    @Test
    void parameterCountOf8bTimesTwoBytesIsTheRealBf16WeightBytes() {
        ModelConfig c = ModelConfigParser.parse(fixture("llama-3.1-8b-instruct/config.json"));
        // 16,060,522,496 bytes: the sum of the four real bf16 shards' tensors (metadata.total_size).
        assertThat(c.parameterCount() * 2).isEqualTo(16_060_522_496L);
        assertThat(c.kvElementsPerToken() * 2).isEqualTo(131_072L);
    }

    @Test
    void tiedEmbeddingsAreCountedOnce() {
        ObjectNode n = config8b();
        n.put("tie_word_embeddings", true);
        ModelConfig tied = ModelConfigParser.parse(n, "tied");
        assertThat(tied.tieWordEmbeddings()).isTrue();
        assertThat(tied.parameterCount()).isEqualTo(8_030_261_248L - 128256L * 4096);
    }

    @Test
    void tinyFixtureParses() {
        ModelConfig c = ModelConfigParser.parse(fixture("tiny-llama31/config.json"));
        assertThat(c.hiddenSize()).isEqualTo(64);
        assertThat(c.numHiddenLayers()).isEqualTo(2);
        assertThat(c.numAttentionHeads()).isEqualTo(4);
        assertThat(c.numKeyValueHeads()).isEqualTo(2);
        assertThat(c.headDim()).isEqualTo(16);
        assertThat(c.intermediateSize()).isEqualTo(192);
        assertThat(c.vocabSize()).isEqualTo(768);
        assertThat(c.maxPositionEmbeddings()).isEqualTo(131072);
        assertThat(c.ropeScaling().kind()).isEqualTo(RopeScaling.Kind.LLAMA3);
        assertThat(c.bosTokenId()).isEqualTo(512);
        assertThat(c.eosTokenIds()).containsExactly(513, 520, 521);
        assertThat(c.tieWordEmbeddings()).isFalse();
        // The fixture's index says 393,856 bytes of bf16 tensors.
        assertThat(c.parameterCount() * 2).isEqualTo(393_856L);
    }

    @Test
    void otherArchitectureIsRefusedByName() {
        ObjectNode n = config8b();
        n.putArray("architectures").add("MistralForCausalLM");
        assertThatThrownBy(() -> ModelConfigParser.parse(n, "cfg"))
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("architectures is [MistralForCausalLM]")
                .hasMessageContaining("LlamaForCausalLM");
    }

    @Test
    void absentArchitecturesIsRefused() {
        ObjectNode n = config8b();
        n.remove("architectures");
        assertThatThrownBy(() -> ModelConfigParser.parse(n, "cfg"))
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("architectures is absent");
    }

    @Test
    void otherActivationIsRefused() {
        ObjectNode n = config8b();
        n.put("hidden_act", "gelu");
        assertThatThrownBy(() -> ModelConfigParser.parse(n, "cfg"))
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("hidden_act is 'gelu'")
                .hasMessageContaining("silu");
    }

    @Test
    void projectionBiasesAreRefused() {
        ObjectNode n = config8b();
        n.put("attention_bias", true);
        assertThatThrownBy(() -> ModelConfigParser.parse(n, "cfg"))
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("attention_bias is true");
        ObjectNode m = config8b();
        m.put("mlp_bias", true);
        assertThatThrownBy(() -> ModelConfigParser.parse(m, "cfg"))
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("mlp_bias is true");
    }

    @Test
    void ropeScalingLlama3ThroughOlderTypeKey() {
        ObjectNode n = config8b();
        ObjectNode rope = (ObjectNode) n.get("rope_scaling");
        rope.remove("rope_type");
        rope.put("type", "llama3");
        assertThat(ModelConfigParser.parse(n, "cfg").ropeScaling())
                .isEqualTo(new RopeScaling(RopeScaling.Kind.LLAMA3, 8.0, 1.0, 4.0, 8192));
    }

    @Test
    void ropeScalingLinear() {
        ObjectNode n = config8b();
        n.putObject("rope_scaling").put("type", "linear").put("factor", 2.0);
        RopeScaling r = ModelConfigParser.parse(n, "cfg").ropeScaling();
        assertThat(r.kind()).isEqualTo(RopeScaling.Kind.LINEAR);
        assertThat(r.factor()).isEqualTo(2.0);
        double[] plain = RopeScaling.NONE.inverseFrequencies(500000, 128);
        double[] linear = r.inverseFrequencies(500000, 128);
        for (int i = 0; i < plain.length; i++) {
            assertThat(linear[i]).isEqualTo(plain[i] / 2.0);
        }
    }

    @Test
    void ropeScalingLinearWithoutFactorIsAnError() {
        ObjectNode n = config8b();
        n.putObject("rope_scaling").put("rope_type", "linear");
        assertThatThrownBy(() -> ModelConfigParser.parse(n, "cfg"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("'factor' must be a positive number");
    }

    @Test
    void ropeScalingDefaultAndAbsentAndNullMeanNone() {
        ObjectNode n = config8b();
        n.putObject("rope_scaling").put("rope_type", "default");
        assertThat(ModelConfigParser.parse(n, "cfg").ropeScaling()).isEqualTo(RopeScaling.NONE);
        n.remove("rope_scaling");
        assertThat(ModelConfigParser.parse(n, "cfg").ropeScaling()).isEqualTo(RopeScaling.NONE);
        n.putNull("rope_scaling");
        assertThat(ModelConfigParser.parse(n, "cfg").ropeScaling()).isEqualTo(RopeScaling.NONE);
    }

    @Test
    void unknownRopeScalingTypeIsUnsupported() {
        ObjectNode n = config8b();
        n.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0);
        assertThatThrownBy(() -> ModelConfigParser.parse(n, "cfg"))
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("unsupported rope_scaling type 'yarn'")
                .hasMessageContaining("llama3, linear, default");
    }

    /** The 8B's config as transformers 5 saves it: rope_theta and rope_scaling moved into rope_parameters. */
    private static ObjectNode config8bTransformers5() {
        ObjectNode n = config8b();
        ObjectNode params = ((ObjectNode) n.remove("rope_scaling")).deepCopy();
        params.set("rope_theta", n.remove("rope_theta"));
        n.set("rope_parameters", params);
        return n;
    }

    @Test
    void transformers5RopeParametersGiveTheSameRope() {
        ObjectNode n = config8bTransformers5();
        assertThat(n.has("rope_theta") || n.has("rope_scaling")).isFalse();
        ModelConfig c = ModelConfigParser.parse(n, "cfg");
        assertThat(c.ropeTheta()).isEqualTo(500000.0);
        assertThat(c.ropeScaling()).isEqualTo(new RopeScaling(RopeScaling.Kind.LLAMA3, 8.0, 1.0, 4.0, 8192));

        ObjectNode plain = config8b();
        plain.remove("rope_scaling");
        plain.remove("rope_theta");
        plain.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", 250000.0);
        ModelConfig d = ModelConfigParser.parse(plain, "cfg");
        assertThat(d.ropeTheta()).isEqualTo(250000.0);
        assertThat(d.ropeScaling()).isEqualTo(RopeScaling.NONE);
    }

    @Test
    void ropeParametersBesideTheOlderKeysMustAgreeWithThem() {
        ObjectNode both = config8bTransformers5();
        both.put("rope_theta", 500000.0);
        both.set("rope_scaling", config8b().get("rope_scaling"));
        assertThat(ModelConfigParser.parse(both, "cfg").ropeTheta()).isEqualTo(500000.0);

        ObjectNode theta = config8bTransformers5();
        theta.put("rope_theta", 10000.0);
        assertThatThrownBy(() -> ModelConfigParser.parse(theta, "cfg"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("rope_theta (10000.0) and rope_parameters.rope_theta (500000.0) disagree");

        ObjectNode scaling = config8bTransformers5();
        scaling.putObject("rope_scaling").put("rope_type", "default");
        assertThatThrownBy(() -> ModelConfigParser.parse(scaling, "cfg"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("rope_scaling").hasMessageContaining("rope_parameters")
                .hasMessageContaining("disagree");
    }

    @Test
    void ropeParametersPerLayerTypeOrOfAnUnknownTypeAreNamed() {
        ObjectNode perLayer = config8bTransformers5();
        ObjectNode params = (ObjectNode) perLayer.remove("rope_parameters");
        perLayer.putObject("rope_parameters").set("full_attention", params);
        assertThatThrownBy(() -> ModelConfigParser.parse(perLayer, "cfg"))
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("rope_parameters per layer type ('full_attention')");

        ObjectNode yarn = config8bTransformers5();
        ((ObjectNode) yarn.get("rope_parameters")).put("rope_type", "yarn");
        assertThatThrownBy(() -> ModelConfigParser.parse(yarn, "cfg"))
                .isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("unsupported rope_parameters type 'yarn'");
    }

    @Test
    void llama3RopeScalingMissingAFieldNamesIt() {
        ObjectNode n = config8b();
        ((ObjectNode) n.get("rope_scaling")).remove("original_max_position_embeddings");
        assertThatThrownBy(() -> ModelConfigParser.parse(n, "cfg"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("rope_scaling")
                .hasMessageContaining("original_max_position_embeddings");
    }

    @Test
    void llama3RopeScalingWithEqualBandFactorsIsAnError() {
        ObjectNode n = config8b();
        ((ObjectNode) n.get("rope_scaling")).put("high_freq_factor", 1.0);
        assertThatThrownBy(() -> ModelConfigParser.parse(n, "cfg"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("high_freq_factor (1.0) must be greater than low_freq_factor (1.0)");
    }

    @Test
    void eosTokenIdAsIntOrListOrAbsent() {
        ObjectNode n = config8b();
        n.put("eos_token_id", 128009);
        assertThat(ModelConfigParser.parse(n, "cfg").eosTokenIds()).containsExactly(128009);
        n.putArray("eos_token_id").add(1).add(2);
        assertThat(ModelConfigParser.parse(n, "cfg").eosTokenIds()).containsExactly(1, 2);
        n.remove("eos_token_id");
        assertThat(ModelConfigParser.parse(n, "cfg").eosTokenIds()).isEmpty();
        n.put("eos_token_id", "</s>");
        assertThatThrownBy(() -> ModelConfigParser.parse(n, "cfg"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("'eos_token_id' must be a non-negative integer");
    }

    @Test
    void headDimExplicitOrHiddenOverHeads() {
        ObjectNode n = config8b();
        n.remove("head_dim");
        assertThat(ModelConfigParser.parse(n, "cfg").headDim()).isEqualTo(4096 / 32);
        n.put("head_dim", 64);
        ModelConfig explicit = ModelConfigParser.parse(n, "cfg");
        assertThat(explicit.headDim()).isEqualTo(64);
        assertThat(explicit.kvElementsPerToken()).isEqualTo(2L * 32 * 8 * 64);
        n.remove("head_dim");
        n.put("num_attention_heads", 24);
        n.put("num_key_value_heads", 8);
        n.put("hidden_size", 4000);
        assertThatThrownBy(() -> ModelConfigParser.parse(n, "cfg"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("hidden_size (4000) is not a multiple of num_attention_heads (24)");
    }

    @Test
    void absentKvHeadsMeansMultiHead() {
        ObjectNode n = config8b();
        n.remove("num_key_value_heads");
        ModelConfig c = ModelConfigParser.parse(n, "cfg");
        assertThat(c.numKeyValueHeads()).isEqualTo(32);
        assertThat(c.kvElementsPerToken() * 2).isEqualTo(4 * 131_072L);
    }

    @Test
    void zeroKvHeadsIsAnErrorNamingTheField() {
        ObjectNode n = config8b();
        n.put("num_key_value_heads", 0);
        assertThatThrownBy(() -> ModelConfigParser.parse(n, "cfg"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("'num_key_value_heads' must be positive, was 0");
    }

    @Test
    void kvHeadsNotDividingHeadsIsAnError() {
        ObjectNode n = config8b();
        n.put("num_key_value_heads", 5);
        assertThatThrownBy(() -> ModelConfigParser.parse(n, "cfg"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("num_attention_heads (32) is not a multiple of num_key_value_heads (5)");
    }

    @Test
    void missingRequiredSizeNamesIt() {
        ObjectNode n = config8b();
        n.remove("vocab_size");
        assertThatThrownBy(() -> ModelConfigParser.parse(n, "cfg"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("'vocab_size' must be an integer, was null");
    }

    @Test
    void unreadableFileNamesIt() {
        Path missing = Path.of("does-not-exist/config.json");
        assertThatThrownBy(() -> ModelConfigParser.parse(missing))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("does-not-exist/config.json");
    }

    @Test
    void eosIdsHelperAcceptsIntAndList() {
        assertThat(ModelConfigParser.eosIds(JSON.readTree("7"))).isEqualTo(List.of(7));
        assertThat(ModelConfigParser.eosIds(JSON.readTree("[7, 8]"))).isEqualTo(List.of(7, 8));
        assertThat(ModelConfigParser.eosIds(null)).isEmpty();
    }
}
