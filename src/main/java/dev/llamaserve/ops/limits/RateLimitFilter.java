package dev.llamaserve.ops.limits;

import dev.llamaserve.ops.ModelRoutes;
import org.springframework.core.Ordered;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Counts every request to the model's routes ({@link ModelRoutes}: {@code /v1/**}, {@code /tokenize} and
 * {@code /detokenize}, which costs a tokenizer pass of up to the body limit) against its client's
 * requests-per-minute window (429 {@code requests} beyond it), reads the client's token window, and writes
 * OpenAI's six {@code x-ratelimit-*} headers on the response, refused or not. The token window is charged later
 * by {@link RateLimits#admit}.
 */
public final class RateLimitFilter implements WebFilter, Ordered {

    /** After auth (+20) and the lifecycle gate (+30). */
    public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 40;

    private final RateLimits limits;

    public RateLimitFilter(RateLimits limits) {
        this.limits = limits;
    }

    @Override
    public int getOrder() {
        return ORDER;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        if (!ModelRoutes.matches(exchange)) {
            return chain.filter(exchange);
        }
        RateLimitHeaders state = limits.resolve(exchange);
        if (state.limit(LimitKind.REQUESTS) <= 0 && state.limit(LimitKind.TOKENS) <= 0) {
            return chain.filter(exchange);
        }
        exchange.getAttributes().put(RateLimitHeaders.ATTRIBUTE, state);
        exchange.getResponse().beforeCommit(() -> Mono.fromRunnable(
                () -> state.writeTo(exchange.getResponse().getHeaders())));
        Mono<Void> count = Mono.fromRunnable(() -> {
            limits.take(state, LimitKind.TOKENS, 0);   // read first: a 429 for requests carries the token headers too
            limits.take(state, LimitKind.REQUESTS, 1);
        });
        if (limits.store().remote()) {
            count = count.subscribeOn(Schedulers.boundedElastic()); // a Redis round trip: off the event loop
        }
        return count.then(Mono.defer(() -> chain.filter(exchange)));
    }
}
