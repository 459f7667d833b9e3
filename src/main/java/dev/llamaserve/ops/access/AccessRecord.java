package dev.llamaserve.ops.access;

import dev.llamaserve.ops.metrics.RequestTrace;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One access-log line's fields (no prompt or output text, ever).
 *
 * @param requestId the {@code X-Request-Id}
 * @param keyId the API key's id, or null
 * @param method HTTP method
 * @param endpoint the request path
 * @param model the model the completion named, or null (no completion)
 * @param status the HTTP status the client got
 * @param trace the completion's trace, or null (no completion)
 * @param durationMs from the request's arrival to the end of its response
 * @param clientClosed the client went away before the response ended
 */
record AccessRecord(String requestId, String keyId, String method, String endpoint, String model, int status,
        RequestTrace.Summary trace, long durationMs, boolean clientClosed) {

    /** The fields, in log order; absent values are null. */
    Map<String, Object> fields() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("request_id", requestId);
        f.put("key_id", keyId);
        f.put("method", method);
        f.put("endpoint", endpoint);
        f.put("model", model);
        f.put("status", status);
        f.put("prompt_tokens", trace == null ? null : trace.promptTokens());
        f.put("completion_tokens", trace == null ? null : trace.completionTokens());
        f.put("ttft_ms", trace == null || trace.ttftNanos() < 0 ? null : trace.ttftNanos() / 1_000_000);
        f.put("duration_ms", durationMs);
        f.put("finish_reason", trace == null ? null : finishReason());
        f.put("client_closed", clientClosed);
        return f;
    }

    private String finishReason() {
        return trace.finishReason() != null ? trace.finishReason() : clientClosed ? "abort" : null;
    }

    /**
     * The same fields as {@code key=value} text (logfmt), {@code -} for absent ones. A value with a space, quote,
     * {@code =}, backslash or control character, or an empty one, is quoted with those escaped: a client's value
     * (the model it names) can neither start a line of its own nor add a field.
     */
    String message() {
        StringBuilder s = new StringBuilder();
        fields().forEach((k, v) -> s.append(s.isEmpty() ? "" : " ").append(k).append('=')
                .append(v == null ? "-" : value(v.toString())));
        return s.toString();
    }

    static String value(String v) {
        if (!v.isEmpty() && v.chars().noneMatch(c -> c == '"' || c == '=' || c == '\\' || Character.isWhitespace(c)
                || control(c))) {
            return v;
        }
        StringBuilder q = new StringBuilder(v.length() + 2).append('"');
        v.chars().forEach(c -> {
            switch (c) {
                case '"' -> q.append("\\\"");
                case '\\' -> q.append("\\\\");
                case '\n' -> q.append("\\n");
                case '\r' -> q.append("\\r");
                case '\t' -> q.append("\\t");
                default -> q.append(control(c) ? String.format("\\u%04x", c) : String.valueOf((char) c));
            }
        });
        return q.append('"').toString();
    }

    /** A character that could end or disturb a log line. */
    private static boolean control(int c) {
        return c < ' ' || c == 0x7f || Character.getType(c) == Character.LINE_SEPARATOR
                || Character.getType(c) == Character.PARAGRAPH_SEPARATOR;
    }
}
