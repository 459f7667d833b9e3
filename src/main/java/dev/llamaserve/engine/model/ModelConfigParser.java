package dev.llamaserve.engine.model;

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
            throw new CheckpointException(configJson + ": not readable JSON: " + e.getMessage(), e);
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
            throw new UnsupportedModelException(source + ": unsupported model: architectures is " + archs
                    + "; llama-serve implements LlamaForCausalLM (Llama 3.1/3.3 checkpoints)");
        }
        String act = text(root, "hidden_act", "silu");
        if (!"silu".equals(act)) {
            throw new UnsupportedModelException(source + ": unsupported model: hidden_act is '" + act
                    + "'; LlamaForCausalLM here implements 'silu' only");
        }
        int hidden = requiredInt(root, "hidden_size", source);
        int layers = requiredInt(root, "num_hidden_layers", source);
        int heads = requiredInt(root, "num_attention_heads", source);
        int kvHeads = root.has("num_key_value_heads") && !root.get("num_key_value_heads").isNull()
                ? requiredInt(root, "num_key_value_heads", source) : heads;
        int headDim = root.has("head_dim") && !root.get("head_dim").isNull()
                ? requiredInt(root, "head_dim", source) : hidden / heads;
        if (heads % kvHeads != 0) {
            throw new CheckpointException(source + ": num_attention_heads (" + heads
                    + ") is not a multiple of num_key_value_heads (" + kvHeads + ")");
        }
        if (headDim % 2 != 0) {
            throw new CheckpointException(source + ": head_dim must be even for RoPE, was " + headDim);
        }
        int inter = requiredInt(root, "intermediate_size", source);
        double eps = root.has("rms_norm_eps") ? root.get("rms_norm_eps").asDouble() : 1e-6;
        double theta = root.has("rope_theta") ? root.get("rope_theta").asDouble() : 10000.0;
        int maxPos = requiredInt(root, "max_position_embeddings", source);
        boolean tie = root.has("tie_word_embeddings") && root.get("tie_word_embeddings").asBoolean();
        int vocab = requiredInt(root, "vocab_size", source);
        Integer bos = root.has("bos_token_id") && root.get("bos_token_id").isNumber()
                ? root.get("bos_token_id").asInt() : null;
        List<Integer> eos = eosIds(root.get("eos_token_id"));
        String dtype = text(root, "torch_dtype", text(root, "dtype", "bfloat16"));
        RopeScaling rope = ropeScaling(root.get("rope_scaling"), source);
        for (int[] v : new int[][] {{hidden}, {layers}, {heads}, {kvHeads}, {headDim}, {inter}, {maxPos}, {vocab}}) {
            if (v[0] <= 0) {
                throw new CheckpointException(source + ": sizes must be positive, found " + v[0]);
            }
        }
        return new ModelConfig("LlamaForCausalLM", hidden, layers, heads, kvHeads, headDim, inter, eps,
                theta, rope, maxPos, tie, vocab, bos, eos, dtype);
    }

    /** {@code eos_token_id} as an int, a list of ints, or absent. */
    public static List<Integer> eosIds(JsonNode node) {
        List<Integer> ids = new ArrayList<>();
        if (node == null || node.isNull()) {
            return ids;
        }
        if (node.isArray()) {
            node.forEach(n -> ids.add(n.asInt()));
        } else {
            ids.add(node.asInt());
        }
        return ids;
    }

    private static RopeScaling ropeScaling(JsonNode node, String source) {
        if (node == null || node.isNull()) {
            return RopeScaling.NONE;
        }
        String kind = node.has("rope_type") ? node.get("rope_type").asString()
                : node.has("type") ? node.get("type").asString() : "default";
        double factor = node.has("factor") ? node.get("factor").asDouble() : 1.0;
        return switch (kind) {
            case "default" -> RopeScaling.NONE;
            case "linear" -> new RopeScaling(RopeScaling.Kind.LINEAR, factor, 0, 0, 0);
            case "llama3" -> {
                for (String k : List.of("factor", "low_freq_factor", "high_freq_factor",
                        "original_max_position_embeddings")) {
                    if (!node.has(k)) {
                        throw new CheckpointException(source + ": rope_scaling of type llama3 lacks '" + k + "'");
                    }
                }
                yield new RopeScaling(RopeScaling.Kind.LLAMA3, factor, node.get("low_freq_factor").asDouble(),
                        node.get("high_freq_factor").asDouble(),
                        node.get("original_max_position_embeddings").asInt());
            }
            default -> throw new UnsupportedModelException(source + ": unsupported rope_scaling type '" + kind
                    + "'; supported: llama3, linear, default");
        };
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
