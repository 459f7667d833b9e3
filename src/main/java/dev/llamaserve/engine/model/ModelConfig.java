package dev.llamaserve.engine.model;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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

    /**
     * Tensor names and shapes a {@code LlamaForCausalLM} with this config has, in the order of the Hugging Face
     * checkpoint (and of loading): the one place that knows the checkpoint's layout.
     */
    public Map<String, long[]> tensorShapes() {
        long h = hiddenSize;
        long q = (long) numAttentionHeads * headDim;
        long kv = (long) numKeyValueHeads * headDim;
        long inter = intermediateSize;
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", new long[] {vocabSize, h});
        for (int i = 0; i < numHiddenLayers; i++) {
            String p = "model.layers." + i + ".";
            m.put(p + "input_layernorm.weight", new long[] {h});
            m.put(p + "self_attn.q_proj.weight", new long[] {q, h});
            m.put(p + "self_attn.k_proj.weight", new long[] {kv, h});
            m.put(p + "self_attn.v_proj.weight", new long[] {kv, h});
            m.put(p + "self_attn.o_proj.weight", new long[] {h, q});
            m.put(p + "post_attention_layernorm.weight", new long[] {h});
            m.put(p + "mlp.gate_proj.weight", new long[] {inter, h});
            m.put(p + "mlp.up_proj.weight", new long[] {inter, h});
            m.put(p + "mlp.down_proj.weight", new long[] {h, inter});
        }
        m.put("model.norm.weight", new long[] {h});
        if (!tieWordEmbeddings) {
            m.put("lm_head.weight", new long[] {vocabSize, h});
        }
        return m;
    }

    /** Parameters of the checkpoint (embedding and lm_head counted once when tied). */
    public long parameterCount() {
        long n = 0;
        for (long[] shape : tensorShapes().values()) {
            long e = 1;
            for (long d : shape) {
                e *= d;
            }
            n += e;
        }
        return n;
    }
}
