package dev.llamaserve.ops.limits;

import dev.llamaserve.api.openai.ApiException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Redis first; when Redis fails, the local windows ({@code llm.ratelimit.redis-failure=open}, the default:
 * each replica then admits the limit on its own) or a 503 ({@code closed}). The switch either way is logged
 * once, with Redis's host and port only.
 */
public final class FailoverQuotas implements QuotaStore {

    private static final Logger log = LoggerFactory.getLogger(FailoverQuotas.class);

    /** How long a failed Redis is left alone before one request tries it again. */
    static final Duration RETRY_INTERVAL = Duration.ofSeconds(2);

    /** What to do while Redis is unreachable. */
    public enum OnFailure { OPEN, CLOSED }

    private final QuotaStore redis;
    private final QuotaStore local;
    private final OnFailure onFailure;
    private final String where;
    private final long retryNanos;
    private final LongSupplier nanoClock;
    private final AtomicBoolean failing = new AtomicBoolean();
    /** While failing: when one request may try Redis again; the others meanwhile do without it. */
    private final AtomicLong retryAt = new AtomicLong();
    private final AtomicBoolean probing = new AtomicBoolean();

    public FailoverQuotas(QuotaStore redis, QuotaStore local, OnFailure onFailure, String where) {
        this(redis, local, onFailure, where, RETRY_INTERVAL, System::nanoTime);
    }

    FailoverQuotas(QuotaStore redis, QuotaStore local, OnFailure onFailure, String where, Duration retryInterval,
            LongSupplier nanoClock) {
        this.redis = redis;
        this.local = local;
        this.onFailure = onFailure;
        this.where = where;
        this.retryNanos = retryInterval.toNanos();
        this.nanoClock = nanoClock;
    }

    /**
     * Redis's window; while Redis fails, the fallback's. A Redis that hangs (a partition, a stopped node) fails
     * only after {@code llm.ratelimit.redis-timeout}: so once it failed, requests do without it, and one request
     * every {@link #RETRY_INTERVAL} tries it again, instead of each waiting out the timeout (two or three
     * times per request).
     */
    @Override
    public Window acquire(String client, LimitKind kind, long limit, long permits) {
        boolean probe = false;
        if (failing.get()) {
            if (nanoClock.getAsLong() - retryAt.get() < 0 || !probing.compareAndSet(false, true)) {
                return withoutRedis(client, kind, limit, permits);
            }
            probe = true;
        }
        Window w;
        try {
            w = redis.acquire(client, kind, limit, permits);
        } catch (RuntimeException e) {
            retryAt.set(nanoClock.getAsLong() + retryNanos);
            if (failing.compareAndSet(false, true)) {
                log.warn("rate limits: Redis at {} failed ({}); {}", where, e.toString(), onFailure == OnFailure.OPEN
                        ? "falling back to this replica's own limits (llm.ratelimit.redis-failure=open)"
                        : "refusing limited requests with 503 (llm.ratelimit.redis-failure=closed)");
            }
            return withoutRedis(client, kind, limit, permits);
        } finally {
            if (probe) {
                probing.set(false);
            }
        }
        if (failing.compareAndSet(true, false)) {
            log.info("rate limits: Redis at {} answers again; limits are cluster-wide again", where);
        }
        return w;
    }

    private Window withoutRedis(String client, LimitKind kind, long limit, long permits) {
        if (onFailure == OnFailure.CLOSED) {
            throw ApiException.unavailable("rate_limiter_unavailable",
                    "The rate limiter's store is unavailable; retry later.");
        }
        return local.acquire(client, kind, limit, permits);
    }

    /** Whether the last attempt found Redis failing. */
    public boolean failing() {
        return failing.get();
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
