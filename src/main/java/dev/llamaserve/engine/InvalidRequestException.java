package dev.llamaserve.engine;

/**
 * The one "request cannot be served as given" error (HTTP 400), thrown by the engine's request validation
 * ({@link GenerationRequest#validate}), the chat layer (messages, tools, template arguments) and the engine
 * (KV capacity, duplicate ids). Its message names the field, the rule, the limit and the value; it never
 * echoes prompt text beyond a short excerpt of a bad enum-like value.
 */
public final class InvalidRequestException extends EngineException {

    public static final String MISSING = "missing_required_parameter";
    public static final String INVALID_TYPE = "invalid_type";
    public static final String INVALID_VALUE = "invalid_value";
    public static final String UNSUPPORTED_VALUE = "unsupported_value";
    public static final String EMPTY_ARRAY = "empty_array";
    public static final String TOO_MANY = "array_above_max_length";
    public static final String UNSUPPORTED_CONTENT = "unsupported_content_type";
    public static final String SPECIAL_TOKEN_TEXT = "special_token_not_allowed";
    public static final String CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded";
    public static final String KV_CACHE_EXCEEDED = "kv_cache_exceeded";
    public static final String BASE_MODEL = "chat_not_supported";

    private final String param;
    private final String code;

    /**
     * @param param the offending field, e.g. {@code messages[3].role}; null when the request as a whole is meant
     * @param code a machine-readable rule name, e.g. {@code context_length_exceeded} (null reads as invalid_value)
     */
    public InvalidRequestException(String param, String code, String message) {
        super(message);
        this.param = param;
        this.code = code == null ? INVALID_VALUE : code;
    }

    /**
     * The context-length rule's refusal of a prompt that leaves no room for a completion (the one message, for
     * the engine's validation and for the chat layer, which may prove it from a part of a long prompt).
     *
     * @param what the field the prompt came from ({@code messages}, {@code prompt})
     * @param atLeast true where {@code promptTokens} was counted from a part of the prompt only
     */
    public static InvalidRequestException promptTooLong(String what, long promptTokens, boolean atLeast,
            int maxModelLen) {
        return new InvalidRequestException(what, CONTEXT_LENGTH_EXCEEDED, "This model's maximum context length is "
                + maxModelLen + " tokens. However, your " + what + " resulted in " + (atLeast ? "at least " : "")
                + promptTokens + " tokens, which leaves no room for a completion. Please reduce the length of the "
                + what + ".");
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
