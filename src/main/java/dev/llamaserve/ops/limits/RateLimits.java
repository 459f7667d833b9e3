package dev.llamaserve.ops.limits;

import dev.llamaserve.api.openai.ApiException;
import dev.llamaserve.api.openai.TokenAdmission;
import dev.llamaserve.ops.auth.ApiKey;
import dev.llamaserve.ops.auth.ApiKeyFilter;
import java.net.InetSocketAddress;
import java.util.function.Consumer;
import org.springframework.web.server.ServerWebExchange;

/**
 * The per-client limits: {@code llm.ratelimit.requests-per-minute} and {@code tokens-per-minute} (0 = off),
 * overridden per key by the keys file. The client is the API key's id when the request carried one, else
 * the remote address. Requests are counted by {@link RateLimitFilter}; tokens here, as the
 * {@link TokenAdmission} the generation endpoints call once they know the prompt's length.
 */
public final class RateLimits implements TokenAdmission {

    private final QuotaStore store;
    private final long requestsPerMinute;
    private final long tokensPerMinute;
    private final Consumer<String> refused;

    /** @param refused told of each refusal, with the limit's wire name (requests or tokens): the metric */
    public RateLimits(QuotaStore store, long requestsPerMinute, long tokensPerMinute,
            Consumer<String> refused) {
        if (requestsPerMinute < 0 || tokensPerMinute < 0) {
            throw new IllegalArgumentException("rate limits must be >= 0 (0 = off)");
        }
        this.store = store;
        this.requestsPerMinute = requestsPerMinute;
        this.tokensPerMinute = tokensPerMinute;
        this.refused = refused;
    }

    QuotaStore store() {
        return store;
    }

    /** The exchange's client and its limits. */
    RateLimitHeaders resolve(ServerWebExchange exchange) {
        ApiKey key = ApiKeyFilter.key(exchange);
        return new RateLimitHeaders(client(key, exchange),
                key != null && key.requestsPerMinute() != null ? key.requestsPerMinute() : requestsPerMinute,
                key != null && key.tokensPerMinute() != null ? key.tokensPerMinute() : tokensPerMinute);
    }

    /**
     * Who a per-client limit counts the exchange against: {@code key:<id>} when the request carried an API key
     * ({@code key}: {@link ApiKeyFilter#key}'s, which the caller has read), else {@code ip:<remote address>}.
     */
    static String client(ApiKey key, ServerWebExchange exchange) {
        if (key != null) {
            return "key:" + key.id();
        }
        InetSocketAddress remote = exchange.getRequest().getRemoteAddress();
        return "ip:" + (remote == null ? "unknown"
                : remote.getAddress() != null ? remote.getAddress().getHostAddress() : remote.getHostString());
    }

    /**
     * Takes {@code permits} of {@code kind} from the client's window (0 only reads it) and records the window
     * for the headers; throws the 429 when refused. A limit that is off takes nothing.
     */
    void take(RateLimitHeaders state, LimitKind kind, long permits) {
        long limit = state.limit(kind);
        if (limit <= 0) {
            return;
        }
        Window w = store.acquire(state.client(), kind, limit, permits);
        state.update(kind, w);
        if (!w.admitted()) {
            refused.accept(kind.wireName());
            String what = kind == LimitKind.REQUESTS ? "requests per min (RPM)" : "tokens per min (TPM)";
            String message = permits > limit
                    ? "Request too large for " + what + ": Limit " + limit + ", Requested " + permits
                            + ". Reduce the prompt or max_tokens."
                    : "Rate limit reached for " + what + ": Limit " + limit + ", Used " + (limit - w.remaining())
                            + ", Requested " + permits + ". Please try again in "
                            + RateLimitHeaders.duration(w.retryAfter()) + ".";
            throw permits > limit ? ApiException.tooLargeForLimit(kind.wireName(), message)
                    : ApiException.rateLimited(kind.wireName(), message, w.retryAfter());
        }
    }

    @Override
    public void admit(ServerWebExchange exchange, long tokens) {
        if (exchange.getAttribute(RateLimitHeaders.ATTRIBUTE) instanceof RateLimitHeaders state) {
            take(state, LimitKind.TOKENS, tokens);
        }
    }
}
