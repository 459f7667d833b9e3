package dev.llamaserve.chat;

import tools.jackson.core.JacksonException;
import tools.jackson.core.json.JsonReadFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads JSON the way Python's {@code json.loads} does for the chat template: floats as doubles
 * (so {@code -0.0} keeps its sign and {@code 1e+16} stays a float), integers of any size exactly,
 * {@code NaN}/{@code Infinity} accepted, nothing after the value.
 */
public final class ChatJson {

    public static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    private ChatJson() {}

    /** Parses JSON text; throws {@link JacksonException} when it is not one valid JSON value. */
    public static JsonNode parse(String json) {
        JsonNode node = MAPPER.readTree(json);
        if (node == null || node.isMissingNode()) {
            throw new IllegalArgumentException("empty JSON text");
        }
        return node;
    }
}
