package dev.llamaserve.ops.lifecycle;

import dev.llamaserve.ops.ModelRoutes;
import org.springframework.core.Ordered;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Refuses the model's routes ({@link ModelRoutes}: {@code /v1/**}, {@code /tokenize}, {@code /detokenize}, as
 * WebFlux routes them) with 503 and Retry-After unless the model is READY: {@code model_loading} while it loads
 * or warms up, {@code draining} on shutdown, {@code engine_failed} after an engine failure. Probes and the
 * actuator pass.
 */
public final class LifecycleGate implements WebFilter, Ordered {

    /** After request id / access log (+10) and auth (+20), before rate limits (+40). */
    public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 30;

    private final ModelLifecycle lifecycle;

    public LifecycleGate(ModelLifecycle lifecycle) {
        this.lifecycle = lifecycle;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        if (!ModelRoutes.matches(exchange)) {
            return chain.filter(exchange);
        }
        ServingPhase p = lifecycle.phase();
        return p == ServingPhase.READY ? chain.filter(exchange) : Mono.error(ModelLifecycle.unavailable(p));
    }

    @Override
    public int getOrder() {
        return ORDER;
    }
}
