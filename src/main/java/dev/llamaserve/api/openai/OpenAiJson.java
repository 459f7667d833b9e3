package dev.llamaserve.api.openai;

import tools.jackson.core.StreamReadConstraints;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.json.JsonMapper;

/**
 * The one JSON mapper of the OpenAI API: snake_case wire records, and numbers kept exactly
 * (big decimals and big integers), so tool schemas and tool-call arguments keep their number text.
 */
public final class OpenAiJson {

    /** Longest number literal accepted (digits); longer ones are a 400. */
    static final int MAX_NUMBER_LENGTH = 100;

    /** Object and array nesting a request body may have. */
    static final int MAX_NESTING_DEPTH = 200;

    public static final ObjectMapper MAPPER = JsonMapper.builder(limitedFactory())
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .build();

    /**
     * The one reader of request bodies: the same limits, and numbers as the chat template needs them (floats
     * as doubles, integers of any size exactly), so {@code messages} and {@code tools} go to the chat layer
     * from the same tree the API reads its fields from.
     */
    static final ObjectMapper READER = JsonMapper.builder(limitedFactory())
            .disable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private OpenAiJson() {}

    private static JsonFactory limitedFactory() {
        return JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNumberLength(MAX_NUMBER_LENGTH)
                        .maxNestingDepth(MAX_NESTING_DEPTH)
                        .build())
                .build();
    }
}
