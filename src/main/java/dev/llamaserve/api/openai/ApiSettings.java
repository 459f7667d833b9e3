package dev.llamaserve.api.openai;

import java.time.Duration;

/**
 * Settings of the OpenAI API (bound from {@code llm.api.*} in package config).
 *
 * @param acceptAnyModel serve requests naming any model instead of answering 404
 * @param maxBodyBytes largest request body; larger is a 413
 * @param keepAliveInterval an SSE comment line is sent when no chunk was written for this long
 * @param retryAfter the Retry-After sent with 429 and 503
 * @param bodyTimeout the most time a request's body may take to arrive; slower is a 408 (a body that stalls would
 *     hold its admission slot for ever)
 * @param bodies the bytes of bodies read at once ({@link BodyBudget})
 */
public record ApiSettings(boolean acceptAnyModel, long maxBodyBytes, Duration keepAliveInterval, Duration retryAfter,
        Duration bodyTimeout, BodyBudget bodies) {

    public ApiSettings(boolean acceptAnyModel, long maxBodyBytes, Duration keepAliveInterval, Duration retryAfter) {
        this(acceptAnyModel, maxBodyBytes, keepAliveInterval, retryAfter, DEFAULT_BODY_TIMEOUT,
                BodyBudget.forHeap(maxBodyBytes));
    }

    public static final Duration DEFAULT_BODY_TIMEOUT = Duration.ofSeconds(30);

    public ApiSettings {
        if (maxBodyBytes < 1 || maxBodyBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("llm.api.max-body-bytes must be in [1, 2^31), got " + maxBodyBytes);
        }
        if (keepAliveInterval == null || keepAliveInterval.isNegative() || keepAliveInterval.isZero()) {
            throw new IllegalArgumentException("llm.api.keep-alive-interval must be positive, got " + keepAliveInterval);
        }
        if (retryAfter == null || retryAfter.isNegative()) {
            throw new IllegalArgumentException("llm.api.retry-after must not be negative, got " + retryAfter);
        }
        if (bodies == null) {
            throw new IllegalArgumentException("bodies (llm.api.max-body-bytes-in-flight) is required");
        }
        if (bodyTimeout == null || bodyTimeout.isNegative() || bodyTimeout.isZero()) {
            throw new IllegalArgumentException("llm.api.body-timeout must be positive, got " + bodyTimeout);
        }
    }

    public static ApiSettings defaults() {
        return new ApiSettings(false, 4L * 1024 * 1024, Duration.ofSeconds(5), Duration.ofSeconds(1));
    }

    /** Retry-After header value of {@code wait}: whole seconds rounded up, at least 1. */
    static String retryAfterSeconds(Duration wait) {
        return Long.toString(Math.max(1, (wait.toMillis() + 999) / 1000));
    }
}
