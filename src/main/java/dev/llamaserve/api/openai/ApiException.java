package dev.llamaserve.api.openai;

/**
 * An error answered with an OpenAI error body. The status decides the HTTP status; {@code retryAfter}
 * (seconds) is sent as Retry-After when set.
 */
public final class ApiException extends RuntimeException {

    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final boolean retry;

    public ApiException(int status, String type, String param, String code, String message, boolean retry) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retry = retry;
    }

    public static ApiException invalid(String param, String code, String message) {
        return new ApiException(400, "invalid_request_error", param, code, message, false);
    }

    public static ApiException modelNotFound(String model) {
        return new ApiException(404, "invalid_request_error", "model", "model_not_found",
                "The model `" + model + "` does not exist.", false);
    }

    public static ApiException tooLarge(long limit) {
        return new ApiException(413, "invalid_request_error", null, "request_too_large",
                "Request body exceeds the limit of " + limit + " bytes (llm.api.max-body-bytes)", false);
    }

    public static ApiException rateLimited(String message) {
        return new ApiException(429, "rate_limit_error", null, "rate_limit_exceeded", message, true);
    }

    public static ApiException unavailable(String code, String message) {
        return new ApiException(503, "server_error", null, code, message, true);
    }

    public static ApiException internal(String message) {
        return new ApiException(500, "server_error", null, "internal_error", message, false);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }

    /** Whether the answer carries Retry-After. */
    public boolean retry() {
        return retry;
    }

    public ErrorBody body() {
        return new ErrorBody(new ErrorBody.Detail(getMessage(), type, param, code));
    }
}
