package dev.llamaserve.engine.model;

import dev.llamaserve.engine.checkpoint.CheckpointException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Reads {@code generation_config.json} into a {@link GenerationConfig}; range-checks what it sets. */
public final class GenerationConfigParser {

    public static final String FILE_NAME = "generation_config.json";

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private GenerationConfigParser() {
    }

    /** The model directory's {@code generation_config.json}, or {@link GenerationConfig#ABSENT} if there is none. */
    public static GenerationConfig read(Path modelDir) {
        Path file = modelDir.resolve(FILE_NAME);
        if (!Files.exists(file)) {
            return GenerationConfig.ABSENT;
        }
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (IOException | JacksonException e) {
            throw new CheckpointException(file + ": not readable JSON: " + e, e);   // the class: NoSuchFile, AccessDenied, ...
        }
        return parse(root, file.toString());
    }

    public static GenerationConfig parse(JsonNode root, String source) {
        if (root == null || !root.isObject()) {
            throw new CheckpointException(source + ": expected a JSON object");
        }
        Integer bos = ModelConfigParser.tokenId(root.get("bos_token_id"), "bos_token_id", source);
        Double temperature = number(root, "temperature", source, 0, Double.MAX_VALUE, true);
        Double topP = number(root, "top_p", source, 0, 1, false);
        Integer topK = null;
        if (present(root, "top_k")) {
            JsonNode n = root.get("top_k");
            if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 0) {
                throw new CheckpointException(source + ": 'top_k' must be a non-negative integer, was " + n);
            }
            topK = n.asInt();
        }
        Double repetition = number(root, "repetition_penalty", source, 0, Double.MAX_VALUE, false);
        Boolean doSample = null;
        if (present(root, "do_sample")) {
            JsonNode n = root.get("do_sample");
            if (!n.isBoolean()) {
                throw new CheckpointException(source + ": 'do_sample' must be true or false, was " + n);
            }
            doSample = n.asBoolean();
        }
        return new GenerationConfig(bos, ModelConfigParser.eosIds(root.get("eos_token_id"), source),
                temperature, topP, topK, repetition, doSample);
    }

    /** A number in (min, max], or [min, max] when {@code minInclusive}; null when absent. */
    private static Double number(JsonNode root, String key, String source, double min, double max,
                                 boolean minInclusive) {
        if (!present(root, key)) {
            return null;
        }
        JsonNode n = root.get(key);
        double v = n.isNumber() ? n.asDouble() : Double.NaN;
        boolean ok = (minInclusive ? v >= min : v > min) && v <= max;
        if (!ok) {
            throw new CheckpointException(source + ": '" + key + "' must be a number in "
                    + (minInclusive ? "[" : "(") + min + ", " + (max == Double.MAX_VALUE ? "∞)" : max + "]")
                    + ", was " + n);
        }
        return v;
    }

    private static boolean present(JsonNode root, String key) {
        return root.has(key) && !root.get(key).isNull();
    }
}
