package dev.llamaserve.engine.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code llm.model.quantization}: weight-only int8 made at load from the float checkpoint. Each quantized
 * {@code [out, in]} weight becomes {@code q} (int8, symmetric) and one scale per output channel,
 * {@code scale = absmax(row) / 127}, so that {@code w ≈ q × scale}; the scales are kept in the compute dtype
 * under {@code <name>_scale} ({@code model.layers.0.mlp.up_proj.weight_scale}), next to {@code q} under the
 * weight's own name. Activations, norms, the embedding and the KV cache keep the compute dtype.
 */
public enum Quantization {
    /** Weights in the compute dtype. */
    NONE("none"),
    /** q/k/v/o and gate/up/down of every layer in int8. */
    INT8("int8"),
    /** {@link #INT8} and the output projection too (tied embeddings: lm_head gets its own int8 copy). */
    INT8_LM_HEAD("int8-lm-head"),
    /**
     * {@link #INT8}'s weights, multiplied by the rows of a step quantized to int8 as well, one scale per row
     * (per token, made at each call): VNNI int8 dot products on CPUs with AVX-512 and llama-serve's native kernels.
     */
    W8A8("w8a8"),
    /** {@link #W8A8} and the output projection too, as {@link #INT8_LM_HEAD}. */
    W8A8_LM_HEAD("w8a8-lm-head");

    public static final String PROPERTY = "llm.model.quantization";
    /** {@code <name>.weight} → its scales {@code <name>.weight_scale} ([out] in the compute dtype). */
    public static final String SCALE_SUFFIX = "_scale";

    /** Each layer's linear weights, in the order the step multiplies them. */
    static final List<String> LAYER_PROJECTIONS = List.of(
        "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight",
        "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight");

    private final String optionName;

    Quantization(String optionName) {
        this.optionName = optionName;
    }

    public String optionName() {
        return optionName;
    }

    /**
     * The setting's value ({@code none}, {@code int8}, {@code int8-lm-head}, {@code w8a8}, {@code w8a8-lm-head});
     * anything else fails naming the property.
     */
    public static Quantization parse(String option) {
        String o = option == null ? "none" : option.trim().toLowerCase(Locale.ROOT);
        for (Quantization q : values()) {
            if (q.optionName.equals(o)) {
                return q;
            }
        }
        throw new IllegalArgumentException(PROPERTY + " must be none, int8, int8-lm-head, w8a8 or w8a8-lm-head, was '"
                + option + "'");
    }

    /** Whether the step reads {@code tensorName} (a step weight name, {@code lm_head.weight} included) as int8. */
    public boolean quantizes(String tensorName) {
        if (this == NONE) {
            return false;
        }
        if (tensorName.equals(LlamaModel.LM_HEAD)) {
            return this == INT8_LM_HEAD || this == W8A8_LM_HEAD;
        }
        if (!tensorName.startsWith("model.layers.")) {
            return false;
        }
        for (String p : LAYER_PROJECTIONS) {
            if (tensorName.endsWith("." + p)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the int8 weights multiply rows quantized to int8 per row ({@link #W8A8}), not rows in the compute dtype. */
    public boolean int8Activations() {
        return this == W8A8 || this == W8A8_LM_HEAD;
    }

    /**
     * The weights on the device by step name and shape: the checkpoint's tensors ({@link ModelConfig#tensorShapes}),
     * and with tied embeddings and an int8 lm_head ({@link #INT8_LM_HEAD}, {@link #W8A8_LM_HEAD}) lm_head's own int8
     * copy of the embedding, [vocab, hidden], beside the embedding.
     */
    public Map<String, long[]> deviceShapes(ModelConfig config) {
        Map<String, long[]> shapes = config.tensorShapes();
        if (config.tieWordEmbeddings() && quantizes(LlamaModel.LM_HEAD)) {
            shapes.put(LlamaModel.LM_HEAD, new long[] {config.vocabSize(), config.hiddenSize()});
        }
        return shapes;
    }

    /**
     * Bytes of the weights on the device ({@link #deviceShapes}): int8 weights 1 byte per element plus one scale per
     * output channel in the compute dtype, the rest {@code computeBytes} per element.
     */
    public long weightBytes(ModelConfig config, int computeBytes) {
        long bytes = 0;
        for (Map.Entry<String, long[]> e : deviceShapes(config).entrySet()) {
            bytes = Math.addExact(bytes, tensorBytes(e.getKey(), e.getValue(), computeBytes));
        }
        return bytes;
    }

    /**
     * Bytes a one-token decode step reads: {@link #weightBytes} less the embedding table wherever the step does not
     * multiply by it (untied embeddings, or tied ones with an int8 lm_head copy), since of the table it reads one
     * row per token. The bench's decode limit divides the measured bandwidth by this.
     */
    public long decodeReadBytes(ModelConfig config, int computeBytes) {
        long all = weightBytes(config, computeBytes);
        if (config.tieWordEmbeddings() && !quantizes(LlamaModel.LM_HEAD)) {
            return all;   // lm_head is the embedding table: every byte is read
        }
        return all - Math.multiplyExact((long) config.vocabSize() * config.hiddenSize(), (long) computeBytes);
    }

    private long tensorBytes(String name, long[] shape, int computeBytes) {
        long elements = 1;
        for (long d : shape) {
            elements = Math.multiplyExact(elements, d);
        }
        return quantizes(name) ? elements + shape[0] * computeBytes : elements * computeBytes;
    }

    /**
     * Refuses int8 on a checkpoint that is already quantized ({@code config.json} has a
     * {@code quantization_config}: fp8, GPTQ, AWQ, bitsandbytes, compressed-tensors...): int8 is made from
     * float weights.
     */
    public void requireFloatCheckpoint(Path checkpointDir) {
        if (this == NONE) {
            return;
        }
        Path config = checkpointDir.resolve("config.json");
        JsonNode root;
        try {
            root = JsonMapper.builder().build().readTree(Files.readString(config));
        } catch (IOException | RuntimeException e) {
            return;   // the checkpoint reader reports an unreadable config.json
        }
        JsonNode qc = root.get("quantization_config");
        if (qc != null && !qc.isNull()) {
            JsonNode method = qc.get("quant_method");
            throw new IllegalStateException(PROPERTY + "=" + optionName + " needs a float (bf16/fp16/fp32) checkpoint,"
                    + " but " + config + " says it is already quantized (quantization_config"
                    + (method != null ? ".quant_method=" + method.asString() : "") + "). Set " + PROPERTY
                    + "=none, or point llm.model.path at the original bf16 checkpoint.");
        }
    }
}
