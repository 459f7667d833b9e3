package dev.llamaserve.chat;

/**
 * A chat or tokenize request that cannot be served as given: an OpenAI-style 400
 * ({@code {"error": {"message", "type": "invalid_request_error", "param", "code"}}}).
 * The message names the field, the rule, the limit and the actual value; it never echoes prompt text
 * beyond a short excerpt of a bad enum-like value.
 */
public class ChatValidationException extends RuntimeException {

    public static final String TYPE = "invalid_request_error";

    public static final String MISSING = "missing_required_parameter";
    public static final String INVALID_TYPE = "invalid_type";
    public static final String INVALID_VALUE = "invalid_value";
    public static final String EMPTY_ARRAY = "empty_array";
    public static final String TOO_MANY = "array_above_max_length";
    public static final String UNSUPPORTED_CONTENT = "unsupported_content_type";
    public static final String SPECIAL_TOKEN_TEXT = "special_token_not_allowed";
    public static final String CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded";
    public static final String BASE_MODEL = "chat_not_supported";

    private final String param;
    private final String code;

    public ChatValidationException(String param, String code, String message) {
        super(message);
        this.param = param;
        this.code = code;
    }

    /** The offending field, e.g. {@code messages[3].role}; null when the request as a whole is meant. */
    public String param() {
        return param;
    }

    /** A machine-readable rule name, e.g. {@code context_length_exceeded}. */
    public String code() {
        return code;
    }

    /** Always {@value #TYPE}. */
    public String type() {
        return TYPE;
    }
}
