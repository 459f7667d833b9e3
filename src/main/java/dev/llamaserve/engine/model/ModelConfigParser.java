package dev.llamaserve.engine.model;

import dev.llamaserve.engine.checkpoint.CheckpointException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Reads {@code config.json} into a {@link ModelConfig}, refusing what the forward pass does not implement. */
public final class ModelConfigParser {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private ModelConfigParser() {
    }

    public static ModelConfig parse(Path configJson) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(configJson));
        } catch (IOException | JacksonException e) {
            throw new CheckpointException(configJson + ": not readable JSON: " + e, e);   // the class: AccessDenied, ...
        }
        return parse(root, configJson.toString());
    }

    public static ModelConfig parse(JsonNode root, String source) {
        if (root == null || !root.isObject()) {
            throw new CheckpointException(source + ": expected a JSON object");
        }
        JsonNode arch = root.get("architectures");
        List<String> archs = new ArrayList<>();
        if (arch != null && arch.isArray()) {
            arch.forEach(a -> archs.add(a.asString()));
        }
        if (!archs.contains("LlamaForCausalLM")) {
            throw new UnsupportedModelException(source + ": unsupported model: architectures is "
                    + (arch == null || arch.isNull() ? "absent" : archs.toString())
                    + "; llama-serve implements LlamaForCausalLM (Llama 3.1/3.3 checkpoints)");
        }
        String act = text(root, "hidden_act", "silu");
        if (!"silu".equals(act)) {
            throw new UnsupportedModelException(source + ": unsupported model: hidden_act is '" + act
                    + "'; LlamaForCausalLM here implements 'silu' only");
        }
        for (String bias : List.of("attention_bias", "mlp_bias")) {
            if (root.has(bias) && root.get(bias).asBoolean(false)) {
                throw new UnsupportedModelException(source + ": unsupported model: " + bias
                        + " is true; LlamaForCausalLM here implements bias-free projections (Llama 3.1/3.3)");
            }
        }
        int hidden = positiveInt(root, "hidden_size", source);
        int layers = positiveInt(root, "num_hidden_layers", source);
        int heads = positiveInt(root, "num_attention_heads", source);
        int kvHeads = present(root, "num_key_value_heads") ? positiveInt(root, "num_key_value_heads", source) : heads;
        int headDim;
        if (present(root, "head_dim")) {
            headDim = positiveInt(root, "head_dim", source);
        } else if (hidden % heads != 0) {
            throw new CheckpointException(source + ": hidden_size (" + hidden + ") is not a multiple of "
                    + "num_attention_heads (" + heads + ") and head_dim is absent");
        } else {
            headDim = hidden / heads;
        }
        if (heads % kvHeads != 0) {
            throw new CheckpointException(source + ": num_attention_heads (" + heads
                    + ") is not a multiple of num_key_value_heads (" + kvHeads + ")");
        }
        if (headDim % 2 != 0) {
            throw new CheckpointException(source + ": head_dim must be even for RoPE, was " + headDim);
        }
        int inter = positiveInt(root, "intermediate_size", source);
        double eps = present(root, "rms_norm_eps") ? positiveDouble(root, "rms_norm_eps", source) : 1e-6;
        JsonNode ropeParameters = ropeParameters(root.get("rope_parameters"), source);
        double theta = ropeTheta(root, ropeParameters, source);
        int maxPos = positiveInt(root, "max_position_embeddings", source);
        boolean tie = root.has("tie_word_embeddings") && root.get("tie_word_embeddings").asBoolean(false);
        int vocab = positiveInt(root, "vocab_size", source);
        Integer bos = tokenId(root.get("bos_token_id"), "bos_token_id", source);
        List<Integer> eos = eosIds(root.get("eos_token_id"), source);
        String dtype = text(root, "torch_dtype", text(root, "dtype", "bfloat16"));
        RopeScaling rope = ropeScaling(root.get("rope_scaling"), "rope_scaling", source);
        if (ropeParameters != null) {
            RopeScaling fromParameters = ropeScaling(ropeParameters, "rope_parameters", source);
            if (present(root, "rope_scaling") && !fromParameters.equals(rope)) {
                throw new CheckpointException(source + ": rope_scaling (" + root.get("rope_scaling")
                        + ") and rope_parameters (" + ropeParameters + ") disagree");
            }
            rope = fromParameters;
        }
        return new ModelConfig("LlamaForCausalLM", hidden, layers, heads, kvHeads, headDim, inter, eps,
                theta, rope, maxPos, tie, vocab, bos, eos, dtype);
    }

    /** {@code eos_token_id} as an int, a list of ints, or absent (empty list). */
    public static List<Integer> eosIds(JsonNode node) {
        return eosIds(node, "eos_token_id");
    }

    /** {@code eos_token_id} as an int, a list of ints, or absent (empty list); errors name {@code source}. */
    public static List<Integer> eosIds(JsonNode node, String source) {
        List<Integer> ids = new ArrayList<>();
        if (node == null || node.isNull()) {
            return ids;
        }
        if (node.isArray()) {
            node.forEach(n -> ids.add(tokenId(n, "eos_token_id", source)));
        } else {
            ids.add(tokenId(node, "eos_token_id", source));
        }
        return ids;
    }

    /** A token id: a non-negative integer, or null when absent. */
    static Integer tokenId(JsonNode n, String key, String source) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 0) {
            throw new CheckpointException(source + ": '" + key + "' must be a non-negative integer token id"
                    + " (or a list of them for eos_token_id), was " + n);
        }
        return n.asInt();
    }

    /**
     * transformers 5's {@code rope_parameters}, which replaces {@code rope_theta} and {@code rope_scaling} in the
     * configs it saves: one object with {@code rope_theta}, {@code rope_type} and the scaling's fields; null when
     * absent. The per-layer-type form (an object of such objects, for models mixing attention kinds) is refused.
     */
    private static JsonNode ropeParameters(JsonNode node, String source) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw new CheckpointException(source + ": 'rope_parameters' must be an object or null, was " + node);
        }
        for (var field : node.properties()) {
            if (field.getValue().isObject()) {
                throw new UnsupportedModelException(source + ": rope_parameters per layer type ('" + field.getKey()
                        + "') is not a Llama configuration; expected rope_theta, rope_type and the scaling's fields");
            }
        }
        return node;
    }

    /** {@code rope_theta}, or {@code rope_parameters.rope_theta}; both present must agree; 10000 without either. */
    private static double ropeTheta(JsonNode root, JsonNode ropeParameters, String source) {
        Double top = present(root, "rope_theta") ? positiveDouble(root, "rope_theta", source) : null;
        Double nested = ropeParameters != null && present(ropeParameters, "rope_theta")
                ? positiveDouble(ropeParameters, "rope_theta", source + ": rope_parameters") : null;
        if (top != null && nested != null && !top.equals(nested)) {
            throw new CheckpointException(source + ": rope_theta (" + top + ") and rope_parameters.rope_theta ("
                    + nested + ") disagree");
        }
        return top != null ? top : nested != null ? nested : 10000.0;
    }

    /** {@code key}: {@code rope_scaling}, or transformers 5's {@code rope_parameters} (its rope_theta read apart). */
    private static RopeScaling ropeScaling(JsonNode node, String key, String source) {
        if (node == null || node.isNull()) {
            return RopeScaling.NONE;
        }
        if (!node.isObject()) {
            throw new CheckpointException(source + ": '" + key + "' must be an object or null, was " + node);
        }
        // transformers reads rope_type first and falls back to the older key "type".
        String kind = present(node, "rope_type") ? node.get("rope_type").asString()
                : present(node, "type") ? node.get("type").asString() : "default";
        String where = source + ": " + key;
        return switch (kind) {
            case "default" -> RopeScaling.NONE;
            case "linear" -> new RopeScaling(RopeScaling.Kind.LINEAR, positiveDouble(node, "factor", where), 0, 0, 0);
            case "llama3" -> {
                double factor = positiveDouble(node, "factor", where);
                double low = positiveDouble(node, "low_freq_factor", where);
                double high = positiveDouble(node, "high_freq_factor", where);
                int original = positiveInt(node, "original_max_position_embeddings", where);
                if (high <= low) {
                    throw new CheckpointException(where + ": high_freq_factor (" + high
                            + ") must be greater than low_freq_factor (" + low + ")");
                }
                yield new RopeScaling(RopeScaling.Kind.LLAMA3, factor, low, high, original);
            }
            default -> throw new UnsupportedModelException(source + ": unsupported " + key + " type '" + kind
                    + "'; supported: llama3, linear, default");
        };
    }

    private static boolean present(JsonNode root, String key) {
        return root.has(key) && !root.get(key).isNull();
    }

    private static int positiveInt(JsonNode root, String key, String source) {
        int v = requiredInt(root, key, source);
        if (v <= 0) {
            throw new CheckpointException(source + ": '" + key + "' must be positive, was " + v);
        }
        return v;
    }

    private static double positiveDouble(JsonNode root, String key, String source) {
        JsonNode n = root.get(key);
        if (n == null || !n.isNumber() || !(n.asDouble() > 0) || Double.isInfinite(n.asDouble())) {
            throw new CheckpointException(source + ": '" + key + "' must be a positive number, was " + n);
        }
        return n.asDouble();
    }

    private static int requiredInt(JsonNode root, String key, String source) {
        JsonNode n = root.get(key);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new CheckpointException(source + ": '" + key + "' must be an integer, was " + n);
        }
        return n.asInt();
    }

    private static String text(JsonNode root, String key, String dflt) {
        JsonNode n = root.get(key);
        return n == null || n.isNull() ? dflt : n.asString();
    }
}
