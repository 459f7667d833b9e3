package dev.llamaserve.ops.limits;

import dev.llamaserve.api.openai.ApiException;
import dev.llamaserve.ops.auth.ApiKey;
import dev.llamaserve.ops.auth.ApiKeyFilter;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.reactivestreams.Publisher;
import org.springframework.core.Ordered;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpMethod;
import org.springframework.http.server.PathContainer;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import org.springframework.web.util.pattern.PathPattern;
import org.springframework.web.util.pattern.PathPatternParser;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Bounds the generation requests in flight ({@code llm.ops.max-concurrent-requests}, streams included until
 * their last byte is handed to the connection) with a Resilience4j {@link Bulkhead} that never waits: one more is
 * a 503 {@code overloaded} with Retry-After at once. The engine's {@code max-waiting} bounds its queue behind this.
 * Where {@code llm.ops.max-concurrent-requests-per-client} is set, or a key of the keys file sets its own
 * {@code max-concurrent-requests}, each client (the API key, else the remote address: {@link RateLimits#client})
 * holds at most that many of those slots, so that one client cannot take them all and leave every other one with
 * 503s: one more of its own is its 429 {@code rate_limit_exceeded} (type {@code requests}, Retry-After), refused
 * before it takes a slot of the whole server.
 */
public final class ConcurrencyLimitFilter implements WebFilter, Ordered {

    /** After the per-client rate limit (+40): a refused request does not hold a slot. */
    public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 50;

    private static final List<PathPattern> GENERATION = List.of(
            PathPatternParser.defaultInstance.parse("/v1/chat/completions"),
            PathPatternParser.defaultInstance.parse("/v1/completions"));

    private final Bulkhead bulkhead;
    private final Runnable refused;
    private final int maxPerClient;
    private final Runnable clientRefused;
    /** each client's requests in flight, only while it has one: at most as many entries as slots */
    private final Map<String, Integer> perClient = new ConcurrentHashMap<>();

    /** The server's bound alone (no per-client bound). */
    public ConcurrencyLimitFilter(int maxConcurrentRequests, Runnable refused) {
        this(maxConcurrentRequests, 0, refused, () -> {});
    }

    /**
     * @param maxPerClient each client's requests in flight at most, 0 = no bound beyond the server's (a key's own
     *     {@link ApiKey#maxConcurrentRequests} replaces it for that key)
     * @param refused told of each refusal by the server's bound (the metric)
     * @param clientRefused told of each refusal by a client's own bound (the metric)
     */
    public ConcurrencyLimitFilter(int maxConcurrentRequests, int maxPerClient, Runnable refused,
            Runnable clientRefused) {
        if (maxPerClient < 0) {
            throw new IllegalArgumentException("the per-client bound must be >= 0 (0 = off), got " + maxPerClient);
        }
        this.refused = refused;
        this.maxPerClient = maxPerClient;
        this.clientRefused = clientRefused;
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
        // only a POST generates: any other method is answered 405 at once, even when the server is full
        if (exchange.getRequest().getMethod() != HttpMethod.POST
                || GENERATION.stream().noneMatch(p -> p.matches(path))) {
            return chain.filter(exchange);
        }
        ApiKey key = ApiKeyFilter.key(exchange);
        boolean ownBound = key != null && key.maxConcurrentRequests() != null;
        int bound = ownBound ? key.maxConcurrentRequests() : maxPerClient;
        String client = bound > 0 ? RateLimits.client(key, exchange) : null;
        if (client != null && !takeClientSlot(client, bound)) {
            clientRefused.run();
            String whose = ownBound ? "this key's limit is " + bound + " in flight at once (its max-concurrent-requests"
                    + " in llm.api.keys-file)" : "this client's limit is " + bound + " in flight at once"
                    + " (llm.ops.max-concurrent-requests-per-client)";
            return Mono.error(ApiException.rateLimited(LimitKind.REQUESTS.wireName(),
                    "Too many concurrent requests: " + whose + "; retry when one has finished.", null));
        }
        if (!bulkhead.tryAcquirePermission()) {
            if (client != null) {
                giveClientSlot(client);
            }
            refused.run();
            return Mono.error(ApiException.unavailable("overloaded", "The server is at its limit of "
                    + bulkhead.getBulkheadConfig().getMaxConcurrentCalls()
                    + " concurrent requests (llm.ops.max-concurrent-requests); retry later."));
        }
        AtomicBoolean released = new AtomicBoolean();
        Runnable release = () -> {
            if (released.compareAndSet(false, true)) {
                bulkhead.onComplete();
                if (client != null) {
                    giveClientSlot(client);
                }
            }
        };
        return chain.filter(exchange.mutate().response(new ReleaseOnLastByte(exchange.getResponse(), release)).build())
                .doFinally(signal -> release.run());
    }

    /**
     * Gives the slot back once the response's last bytes are handed to the connection, not once their write has
     * completed: by then the client may hold the whole answer and have sent its next request, which a client
     * that sends one request at a time then saw refused by its own last one (a 503 and a retry a second later).
     * A response that never writes a body (an error the exception handler writes on the exchange it was given)
     * gives it back when the exchange completes.
     */
    private static final class ReleaseOnLastByte extends ServerHttpResponseDecorator {
        private final Runnable release;

        ReleaseOnLastByte(ServerHttpResponse delegate, Runnable release) {
            super(delegate);
            this.release = release;
        }

        @Override
        public Mono<Void> writeWith(Publisher<? extends DataBuffer> body) {
            // a Mono stays one (a whole body: its Content-Length is known)
            return super.writeWith(body instanceof Mono<? extends DataBuffer> one
                    ? one.doOnTerminate(release) : Flux.from(body).doOnTerminate(release));
        }

        @Override
        public Mono<Void> writeAndFlushWith(Publisher<? extends Publisher<? extends DataBuffer>> body) {
            return super.writeAndFlushWith(Flux.from(body).doOnTerminate(release));
        }
    }

    /** One more request of this client in flight, unless it already has {@code bound}. */
    private boolean takeClientSlot(String client, int bound) {
        boolean[] taken = new boolean[1];
        perClient.compute(client, (k, n) -> {
            int held = n == null ? 0 : n;
            taken[0] = held < bound;
            return taken[0] ? held + 1 : n;
        });
        return taken[0];
    }

    private void giveClientSlot(String client) {
        perClient.computeIfPresent(client, (k, n) -> n > 1 ? n - 1 : null);
    }

    /** This client's requests in flight ({@code key:<id>} or {@code ip:<address>}). */
    public int inFlight(String client) {
        return perClient.getOrDefault(client, 0);
    }

    /** Clients with a request in flight (where the per-client bound is on). */
    int clientsInFlight() {
        return perClient.size();
    }

    /** Requests in flight. */
    public int inFlight() {
        return bulkhead.getBulkheadConfig().getMaxConcurrentCalls() - bulkhead.getMetrics().getAvailableConcurrentCalls();
    }
}
