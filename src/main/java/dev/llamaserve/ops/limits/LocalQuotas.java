package dev.llamaserve.ops.limits;

import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-client windows in this process: one Resilience4j {@link RateLimiter} per client and kind ({@code
 * limitForPeriod} = the limit, {@code limitRefreshPeriod} = the window, no waiting: a request is admitted or
 * refused at once; {@code acquirePermission(n)} takes a request's tokens in one go).
 *
 * <p>Memory stays bounded: limiters are kept in access order; one not used for a whole window is evicted
 * (its window is whole again, so a fresh limiter is the same), and beyond {@code maxLimiters}
 * ({@code llm.ratelimit.max-clients}, which counts limiters: two per client limited on both requests and tokens)
 * the least recently used one is evicted even if active (that client's window restarts; logged).
 */
public final class LocalQuotas implements QuotaStore {

    private static final Logger log = LoggerFactory.getLogger(LocalQuotas.class);

    private final Duration window;
    private final long windowNanos;
    private final int maxLimiters;
    private final LongSupplier nanoClock;
    private final Map<Long, RateLimiterConfig> configs = new ConcurrentHashMap<>();
    private final LinkedHashMap<String, Entry> limiters = new LinkedHashMap<>(1024, 0.75f, true);
    private long activeEvictions;
    private long lastEvictionWarning = Long.MIN_VALUE;

    /** A limiter, the start of its first window (its clock's first reading) and when it was last used. */
    private static final class Entry {
        final long limit;
        final long start;
        final RateLimiter limiter;
        long lastUsed;

        Entry(String name, long limit, RateLimiterConfig config, LongSupplier nanoClock) {
            this.limit = limit;
            long[] first = {0};
            boolean[] read = {false};
            Supplier<Long> clock = () -> {
                long t = nanoClock.getAsLong();
                if (!read[0]) {
                    read[0] = true;
                    first[0] = t;
                }
                return t;
            };
            this.limiter = RateLimiter.of(name, config, clock); // reads the clock once: its window origin
            this.start = first[0];
        }
    }

    /** @param maxLimiters limiters kept at most ({@code llm.ratelimit.max-clients}), one per client and kind */
    public LocalQuotas(Duration window, int maxLimiters, LongSupplier nanoClock) {
        if (window.isNegative() || window.isZero()) {
            throw new IllegalArgumentException("window must be positive");
        }
        if (maxLimiters < 1) {
            throw new IllegalArgumentException("llm.ratelimit.max-clients must be >= 1, got " + maxLimiters);
        }
        this.window = window;
        this.windowNanos = window.toNanos();
        this.maxLimiters = maxLimiters;
        this.nanoClock = nanoClock;
    }

    public LocalQuotas(int maxLimiters) {
        this(Duration.ofMinutes(1), maxLimiters, System::nanoTime);
    }

    @Override
    public Window acquire(String client, LimitKind kind, long limit, long permits) {
        if (limit < 1 || limit > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("limit must be in [1, 2^31), got " + limit);
        }
        Entry e = entry(kind.wireName() + ':' + client, limit);
        RateLimiter limiter = e.limiter;
        boolean admitted = permits == 0 || permits <= limit && limiter.acquirePermission((int) permits);
        long now = nanoClock.getAsLong();
        long remaining = Math.max(0, limiter.getMetrics().getAvailablePermissions());
        Duration toWindowEnd = Duration.ofNanos(windowNanos - Math.floorMod(now - e.start, windowNanos));
        return new Window(admitted, limit, remaining, remaining >= limit ? Duration.ZERO : toWindowEnd,
                admitted ? Duration.ZERO : toWindowEnd);
    }

    private synchronized Entry entry(String name, long limit) {
        long now = nanoClock.getAsLong();
        evictIdle(now);
        Entry e = limiters.get(name);
        if (e == null || e.limit != limit) {
            RateLimiterConfig config = configs.computeIfAbsent(limit, l -> RateLimiterConfig.custom()
                    .limitForPeriod(Math.toIntExact(l)).limitRefreshPeriod(window).timeoutDuration(Duration.ZERO)
                    .build());
            e = new Entry(name, limit, config, nanoClock);
            limiters.put(name, e);
            evictBeyondCapacity(now);
        }
        e.lastUsed = now;
        return e;
    }

    /** Drops the least recently used limiters while they have been idle for a whole window. */
    private void evictIdle(long now) {
        Iterator<Entry> it = limiters.values().iterator();
        while (it.hasNext()) {
            Entry oldest = it.next();
            if (now - oldest.lastUsed < windowNanos) {
                return;
            }
            it.remove();
        }
    }

    private void evictBeyondCapacity(long now) {
        Iterator<Entry> it = limiters.values().iterator();
        boolean evicted = false;
        while (limiters.size() > maxLimiters && it.hasNext()) {
            it.next();
            it.remove();
            activeEvictions++;
            evicted = true;
        }
        if (evicted && (lastEvictionWarning == Long.MIN_VALUE || now - lastEvictionWarning >= windowNanos)) {
            log.warn("rate limits: more than {} limiters (one per client and limit: two per client limited on both "
                    + "requests and tokens) active within a minute (llm.ratelimit.max-clients); {} active limiters "
                    + "evicted so far, those clients' windows restarted", maxLimiters, activeEvictions);
            lastEvictionWarning = now;
        }
    }

    /** Limiters held (for tests and metrics). */
    public synchronized int size() {
        return limiters.size();
    }
}
