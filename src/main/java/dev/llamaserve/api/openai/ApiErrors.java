package dev.llamaserve.api.openai;

import dev.llamaserve.engine.EngineException;
import dev.llamaserve.engine.InvalidRequestException;
import io.github.resilience4j.ratelimiter.RequestNotPermitted;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.web.server.MethodNotAllowedException;
import org.springframework.web.server.NotAcceptableStatusException;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebInputException;
import org.springframework.web.server.UnsupportedMediaTypeStatusException;
import reactor.netty.channel.AbortedException;
import tools.jackson.core.JacksonException;

/**
 * The single map from a failure to its OpenAI error (status, type, param, code, message). Internal failures
 * answer a generic message with the request id; their detail belongs in the log (the callers log the
 * throwable with the request id), never in the response.
 */
public final class ApiErrors {

    private ApiErrors() {}

    /** The status of a request whose client went away before it got one (nginx's convention; never sent). */
    public static final int CLIENT_CLOSED = 499;

    /** {@link #from(Throwable, ApiSettings, String)} without a request id. */
    public static ApiException from(Throwable t, ApiSettings settings) {
        return from(t, settings, null);
    }

    /**
     * @param requestId the request's id ({@code X-Request-Id}), quoted in the message of internal failures
     */
    public static ApiException from(Throwable t, ApiSettings settings, String requestId) {
        if (t instanceof ApiException api) {
            return api;
        }
        if (t instanceof InvalidRequestException inv) {
            return ApiException.invalid(inv.param(), inv.code(), inv.getMessage());
        }
        if (t instanceof EngineException.Overloaded o) {
            return ApiException.unavailable("overloaded", message(o, "The server is overloaded; retry later."));
        }
        if (t instanceof EngineException.Unavailable u) {
            String code = switch (u.state()) {
                case LOADING -> "model_loading";
                case DRAINING -> "draining";
                case FAILED -> "engine_failed";
                case READY -> "unavailable";
            };
            return ApiException.unavailable(code, message(u, "The model is not available (" + u.state() + ")."));
        }
        if (t instanceof EngineException.Failure) {
            return modelFailed(requestId);
        }
        if (t instanceof RequestNotPermitted) {
            return ApiException.rateLimited("Rate limit exceeded; retry later.");
        }
        if (t instanceof AbortedException || AbortedException.isConnectionReset(t)) {
            // the client closed or reset the connection while its body was read: nothing reaches it any more
            return new ApiException(CLIENT_CLOSED, "invalid_request_error", null, "client_closed",
                    "The client closed the connection before its request was read.", false);
        }
        if (t instanceof DataBufferLimitException) {
            return ApiException.tooLarge(settings.maxBodyBytes());
        }
        if (t instanceof JacksonException) {
            return ApiException.invalid(null, "invalid_json", "Invalid JSON body.");
        }
        if (t instanceof MethodNotAllowedException m) {
            return new ApiException(405, "invalid_request_error", null, "method_not_allowed",
                    "Method " + m.getHttpMethod() + " is not allowed here; allowed: "
                            + m.getSupportedMethods(), false);
        }
        if (t instanceof UnsupportedMediaTypeStatusException u) {
            return new ApiException(415, "invalid_request_error", null, "unsupported_media_type",
                    "Unsupported media type " + u.getContentType() + ": send the body as JSON, with Content-Type:"
                            + " application/json", false);
        }
        if (t instanceof NotAcceptableStatusException) {
            return new ApiException(406, "invalid_request_error", null, "not_acceptable",
                    "Cannot produce an acceptable representation.", false);
        }
        if (t instanceof ServerWebInputException) {
            return ApiException.invalid(null, "invalid_request", "Invalid request.");
        }
        if (t instanceof ResponseStatusException rse) {
            int status = rse.getStatusCode().value();
            return switch (status) {
                case 404 -> new ApiException(404, "invalid_request_error", null, "not_found",
                        "Unknown route.", false);
                case 413 -> ApiException.tooLarge(settings.maxBodyBytes());
                case 429 -> ApiException.rateLimited("Rate limit exceeded; retry later.");
                case 503 -> ApiException.unavailable("unavailable", "The service is unavailable; retry later.");
                default -> new ApiException(status, status < 500 ? "invalid_request_error" : "server_error",
                        null, status < 500 ? "invalid_request" : "internal_error",
                        rse.getReason() != null ? rse.getReason() : "HTTP " + status, false);
            };
        }
        return ApiException.internal("Internal server error" + quoting(requestId));
    }

    /** The model failed while generating this request: a 500 with the request id and no detail. */
    static ApiException modelFailed(String requestId) {
        return ApiException.internal("The model failed while generating" + quoting(requestId));
    }

    /**
     * The model failed while generating this request because of what the request asks (the engine says so, such as
     * for a schema too ambiguous to enforce): a 500 as {@link #modelFailed}, with {@code x-should-retry: false}.
     */
    static ApiException requestFailed(String requestId) {
        return ApiException.internal("The model failed while generating, because of what this request asks: sent"
                + " again, it fails the same way" + quoting(requestId)).notRetryable();
    }

    /** Handling the body overflowed the stack (deep recursion on a crafted input): the request's own shape. */
    static ApiException nestedTooDeeply() {
        return ApiException.invalid(null, "invalid_request", "The request was nested too deeply to be handled.");
    }

    /** The engine ended a request's stream without its final event. */
    static ApiException noResult(String requestId) {
        return ApiException.internal("The engine ended the request without a result" + quoting(requestId));
    }

    private static String quoting(String requestId) {
        return requestId == null || requestId.equals("-") ? "." : " (request id " + requestId + "); see the server log.";
    }

    private static String message(Throwable t, String fallback) {
        return t.getMessage() == null || t.getMessage().isBlank() ? fallback : t.getMessage();
    }
}
