package dev.llamaserve.ops.limits;

import dev.llamaserve.api.openai.ApiException;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import java.time.Duration;
import java.util.List;
import org.springframework.core.Ordered;
import org.springframework.http.server.PathContainer;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import org.springframework.web.util.pattern.PathPattern;
import org.springframework.web.util.pattern.PathPatternParser;
import reactor.core.publisher.Mono;

/**
 * Bounds the generation requests in flight ({@code llm.ops.max-concurrent-requests}, streams included until
 * their last byte) with a Resilience4j {@link Bulkhead} that never waits: one more is a 503 {@code
 * overloaded} with Retry-After at once. The engine's {@code max-waiting} bounds its queue behind this.
 */
public final class ConcurrencyLimitFilter implements WebFilter, Ordered {

    /** After the per-client rate limit (+40): a refused request does not hold a slot. */
    public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 50;

    private static final List<PathPattern> GENERATION = List.of(
            PathPatternParser.defaultInstance.parse("/v1/chat/completions"),
            PathPatternParser.defaultInstance.parse("/v1/completions"));

    private final Bulkhead bulkhead;
    private final Runnable refused;

    /** @param refused told of each refusal (the metric) */
    public ConcurrencyLimitFilter(int maxConcurrentRequests, Runnable refused) {
        this.refused = refused;
        this.bulkhead = Bulkhead.of("generation", BulkheadConfig.custom()
                .maxConcurrentCalls(maxConcurrentRequests)
                .maxWaitDuration(Duration.ZERO)
                .build());
    }

    @Override
    public int getOrder() {
        return ORDER;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        PathContainer path = exchange.getRequest().getPath().pathWithinApplication();
        if (GENERATION.stream().noneMatch(p -> p.matches(path))) {
            return chain.filter(exchange);
        }
        if (!bulkhead.tryAcquirePermission()) {
            refused.run();
            return Mono.error(ApiException.unavailable("overloaded", "The server is at its limit of "
                    + bulkhead.getBulkheadConfig().getMaxConcurrentCalls()
                    + " concurrent requests (llm.ops.max-concurrent-requests); retry later."));
        }
        return chain.filter(exchange).doFinally(signal -> bulkhead.onComplete());
    }

    /** Requests in flight. */
    public int inFlight() {
        return bulkhead.getBulkheadConfig().getMaxConcurrentCalls() - bulkhead.getMetrics().getAvailableConcurrentCalls();
    }
}
