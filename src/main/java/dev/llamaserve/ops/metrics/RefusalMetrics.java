package dev.llamaserve.ops.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counters of refused requests, for the limits code and the access-log filter:
 * <ul>
 *   <li>{@code llm_ratelimit_refusals_total{type}}: {@link #rateLimited(String)}, called where a rate limit refuses
 *       ({@code type} {@code requests} or {@code tokens}), and {@link #clientConcurrency()} where a client's own
 *       bound on its requests in flight does ({@code type} {@code concurrent_requests});</li>
 *   <li>{@code llm_overload_refusals_total{source}}: {@link #overloaded()} for refusals decided outside the engine
 *       (the concurrency limit, {@code source="concurrency_limit"}); the engine's own full queue is counted by the
 *       metering decorator ({@code source="engine_queue"}) - do not count it twice;</li>
 *   <li>{@code llm_http_refusals_total{status}}: every 429 and 503 answer, counted from the response status by the
 *       access-log filter, whoever refused.</li>
 * </ul>
 */
public final class RefusalMetrics {

    public static final String REQUESTS = "requests";
    public static final String TOKENS = "tokens";
    public static final String CONCURRENT_REQUESTS = "concurrent_requests";

    private final MeterRegistry registry;
    private final Map<String, Counter> rateLimited = new ConcurrentHashMap<>();
    private final Counter concurrencyLimit;
    private final Counter engineQueue;
    private final Counter tooManyRequests;
    private final Counter unavailable;

    public RefusalMetrics(MeterRegistry registry) {
        this.registry = registry;
        rateLimitCounter(REQUESTS);
        rateLimitCounter(TOKENS);
        rateLimitCounter(CONCURRENT_REQUESTS);
        concurrencyLimit = overloadCounter("concurrency_limit");
        engineQueue = overloadCounter("engine_queue");
        tooManyRequests = httpCounter(429);
        unavailable = httpCounter(503);
    }

    /** A rate limit refused a request; {@code type} is {@link #REQUESTS} or {@link #TOKENS}. */
    public void rateLimited(String type) {
        rateLimitCounter(TOKENS.equals(type) ? TOKENS : REQUESTS).increment();
    }

    /** A client's bound on its own requests in flight ({@code llm.ops.max-concurrent-requests-per-client}) refused one. */
    public void clientConcurrency() {
        rateLimitCounter(CONCURRENT_REQUESTS).increment();
    }

    /** The concurrency limit (outside the engine) refused a request. */
    public void overloaded() {
        concurrencyLimit.increment();
    }

    /** The engine's waiting queue was full. */
    void engineQueueFull() {
        engineQueue.increment();
    }

    /** Counts a 429 or 503 answer; other statuses are ignored. */
    public void httpStatus(int status) {
        if (status == 429) {
            tooManyRequests.increment();
        } else if (status == 503) {
            unavailable.increment();
        }
    }

    private Counter rateLimitCounter(String type) {
        return rateLimited.computeIfAbsent(type, t -> Counter.builder("llm.ratelimit.refusals")
                .description("Requests refused by a rate limit").tag("type", t).register(registry));
    }

    private Counter overloadCounter(String source) {
        return Counter.builder("llm.overload.refusals").description("Requests refused because the server is full")
                .tag("source", source).register(registry);
    }

    private Counter httpCounter(int status) {
        return Counter.builder("llm.http.refusals").description("429 and 503 answers, whoever refused")
                .tag("status", Integer.toString(status)).register(registry);
    }
}
