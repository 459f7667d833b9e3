package dev.llamaserve.ops.limits;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.springframework.http.HttpHeaders;

/**
 * One exchange's rate-limit state: who the client is, its limits, and the last window seen of each kind;
 * written as OpenAI's {@code x-ratelimit-*} headers when the response commits (a window of a limit that is
 * off is not sent).
 */
public final class RateLimitHeaders {

    private static final String LIMIT = "x-ratelimit-limit-";
    private static final String REMAINING = "x-ratelimit-remaining-";
    private static final String RESET = "x-ratelimit-reset-";

    /** Exchange attribute holding this object. */
    public static final String ATTRIBUTE = RateLimitHeaders.class.getName();

    private final String client;
    private final long requestsPerMinute;
    private final long tokensPerMinute;
    private volatile Window requests;
    private volatile Window tokens;

    RateLimitHeaders(String client, long requestsPerMinute, long tokensPerMinute) {
        this.client = client;
        this.requestsPerMinute = requestsPerMinute;
        this.tokensPerMinute = tokensPerMinute;
    }

    String client() {
        return client;
    }

    long limit(LimitKind kind) {
        return kind == LimitKind.REQUESTS ? requestsPerMinute : tokensPerMinute;
    }

    void update(LimitKind kind, Window w) {
        if (kind == LimitKind.REQUESTS) {
            requests = w;
        } else {
            tokens = w;
        }
    }

    void writeTo(HttpHeaders headers) {
        write(headers, LimitKind.REQUESTS, requests);
        write(headers, LimitKind.TOKENS, tokens);
    }

    private static void write(HttpHeaders headers, LimitKind kind, Window w) {
        if (w != null) {
            headers.set(LIMIT + kind.wireName(), Long.toString(w.limit()));
            headers.set(REMAINING + kind.wireName(), Long.toString(w.remaining()));
            headers.set(RESET + kind.wireName(), duration(w.reset()));
        }
    }

    /** Every header name this class writes (for CORS to expose), in the order it writes them. */
    public static List<String> names() {
        List<String> names = new ArrayList<>();
        for (LimitKind kind : LimitKind.values()) {
            for (String prefix : List.of(LIMIT, REMAINING, RESET)) {
                names.add(prefix + kind.wireName());
            }
        }
        return names;
    }

    /** OpenAI's (Go's) duration format: {@code 0s}, {@code 250ms}, {@code 1s}, {@code 59s}, {@code 6m0s}, {@code 1h0m0s}. */
    static String duration(Duration d) {
        if (d.isZero() || d.isNegative()) {
            return "0s";
        }
        long millis = (d.toNanos() + 999_999) / 1_000_000;
        if (millis < 1000) {
            return millis + "ms";
        }
        long seconds = (millis + 999) / 1000;
        long h = seconds / 3600;
        long m = seconds % 3600 / 60;
        long s = seconds % 60;
        if (h > 0) {
            return h + "h" + m + "m" + s + "s";
        }
        return m > 0 ? m + "m" + s + "s" : s + "s";
    }
}
