package dev.llamaserve.api.openai;

import java.time.Duration;

/**
 * An error answered with an OpenAI error body. The status decides the HTTP status; when {@code retry} is set
 * the answer carries {@code Retry-After} (seconds) and {@code retry-after-ms}: the wait given by
 * {@link #retryingAfter(Duration)} (a rate limiter's real wait), else {@code llm.api.retry-after}. An error that
 * the same request meets again ({@link #notRetryable()}) carries {@code x-should-retry: false} instead: the OpenAI
 * SDKs retry a 429 and every 5xx twice unless told not to.
 */
public final class ApiException extends RuntimeException {

    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final boolean retry;
    private final Duration retryAfter;
    private final boolean noRetry;

    public ApiException(int status, String type, String param, String code, String message, boolean retry) {
        this(status, type, param, code, message, retry, null, false);
    }

    private ApiException(int status, String type, String param, String code, String message, boolean retry,
            Duration retryAfter, boolean noRetry) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retry = retry;
        this.retryAfter = retryAfter;
        this.noRetry = noRetry;
    }

    /** The same error, answered with Retry-After {@code wait} instead of the configured default. */
    public ApiException retryingAfter(Duration wait) {
        return new ApiException(status, type, param, code, getMessage(), true, wait, false);
    }

    /** The same error, answered with {@code x-should-retry: false} and no Retry-After: a retry fails the same way. */
    public ApiException notRetryable() {
        return new ApiException(status, type, param, code, getMessage(), false, null, true);
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

    /**
     * 429 of a per-client rate limit, as OpenAI answers it: {@code type} {@code requests} or {@code tokens},
     * code {@code rate_limit_exceeded}, Retry-After from the limiter's wait.
     */
    public static ApiException rateLimited(String type, String message, Duration wait) {
        return new ApiException(429, type, null, "rate_limit_exceeded", message, true, wait, false);
    }

    /**
     * 429 of a request that asks for more than the whole per-minute limit: no window will admit it, so the answer
     * carries no Retry-After (a client that waits and retries would wait for nothing), and x-should-retry: false.
     */
    public static ApiException tooLargeForLimit(String type, String message) {
        return new ApiException(429, type, null, "rate_limit_exceeded", message, false, null, true);
    }

    /** 401 of a missing or wrong API key (OpenAI's {@code invalid_api_key}). */
    public static ApiException invalidApiKey(String message) {
        return new ApiException(401, "invalid_request_error", null, "invalid_api_key", message, false);
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

    /** The wait to send as Retry-After, or null for the configured default. */
    public Duration retryAfter() {
        return retryAfter;
    }

    /** Whether the answer carries {@code x-should-retry: false}: the same request fails the same way again. */
    public boolean noRetry() {
        return noRetry;
    }

    public ErrorBody body() {
        return new ErrorBody(new ErrorBody.Detail(getMessage(), type, param, code));
    }
}
