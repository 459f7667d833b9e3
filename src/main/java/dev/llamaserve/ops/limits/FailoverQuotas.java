package dev.llamaserve.ops.limits;

import dev.llamaserve.api.openai.ApiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Redis first; when Redis fails, the local windows ({@code llm.ratelimit.redis-failure=open}, the default:
 * each replica then admits the limit on its own) or a 503 ({@code closed}). The switch either way is logged
 * once, with Redis's host and port only.
 */
public final class FailoverQuotas implements QuotaStore {

    private static final Logger log = LoggerFactory.getLogger(FailoverQuotas.class);

    /** What to do while Redis is unreachable. */
    public enum OnFailure { OPEN, CLOSED }

    private final QuotaStore redis;
    private final QuotaStore local;
    private final OnFailure onFailure;
    private final String where;
    private volatile boolean failing;

    public FailoverQuotas(QuotaStore redis, QuotaStore local, OnFailure onFailure, String where) {
        this.redis = redis;
        this.local = local;
        this.onFailure = onFailure;
        this.where = where;
    }

    @Override
    public Window acquire(String client, LimitKind kind, long limit, long permits) {
        Window w;
        try {
            w = redis.acquire(client, kind, limit, permits);
        } catch (RuntimeException e) {
            if (!failing) {
                failing = true;
                log.warn("rate limits: Redis at {} failed ({}); {}", where, e.toString(), onFailure == OnFailure.OPEN
                        ? "falling back to this replica's own limits (llm.ratelimit.redis-failure=open)"
                        : "refusing limited requests with 503 (llm.ratelimit.redis-failure=closed)");
            }
            if (onFailure == OnFailure.CLOSED) {
                throw ApiException.unavailable("rate_limiter_unavailable",
                        "The rate limiter's store is unavailable; retry later.");
            }
            return local.acquire(client, kind, limit, permits);
        }
        if (failing) {
            failing = false;
            log.info("rate limits: Redis at {} answers again; limits are cluster-wide again", where);
        }
        return w;
    }

    /** Whether the last attempt found Redis failing. */
    public boolean failing() {
        return failing;
    }

    @Override
    public boolean remote() {
        return true;
    }

    @Override
    public void close() {
        redis.close();
    }
}
