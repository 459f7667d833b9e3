package dev.llamaserve.engine.model;

import java.util.List;

/**
 * The parts of a Hugging Face {@code config.json} that define a {@code LlamaForCausalLM}.
 * Built by {@link ModelConfigParser}; immutable.
 */
public record ModelConfig(
        String architecture,
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        int intermediateSize,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        int vocabSize,
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        String torchDtype) {

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /** Query heads per KV head. */
    public int groupSize() {
        return numAttentionHeads / numKeyValueHeads;
    }

    /** Elements of the K and V caches for one token over all layers: 2 × layers × KV heads × head_dim. */
    public long kvElementsPerToken() {
        return 2L * numHiddenLayers * numKeyValueHeads * headDim;
    }

    /** Parameters of the checkpoint (embedding and lm_head counted once when tied). */
    public long parameterCount() {
        long h = hiddenSize;
        long q = (long) numAttentionHeads * headDim;
        long kv = (long) numKeyValueHeads * headDim;
        long perLayer = h * q + 2 * h * kv + q * h     // q_proj, k_proj, v_proj, o_proj
                + 3L * h * intermediateSize             // gate_proj, up_proj, down_proj
                + 2 * h;                                // input_layernorm, post_attention_layernorm
        long embed = (long) vocabSize * h;
        return embed + (tieWordEmbeddings ? 0 : embed) + numHiddenLayers * perLayer + h;
    }
}
