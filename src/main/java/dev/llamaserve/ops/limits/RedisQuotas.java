package dev.llamaserve.ops.limits;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Per-client windows kept in Redis, so that every replica pointed at the same Redis admits the configured
 * limit together. One Lua script per attempt reads and takes the permits atomically; windows are fixed
 * minutes of Redis's own clock ({@code TIME}), so the replicas' clocks do not matter; each window's counter
 * expires with it. Failures (Redis down, timeout) are thrown as they are; {@link FailoverQuotas} decides.
 */
public final class RedisQuotas implements QuotaStore {

    /** KEYS[1] = counter prefix; ARGV = limit, permits, window ms. Returns {admitted, remaining, ms to end, used}. */
    static final String SCRIPT = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local limit = tonumber(ARGV[1])
            local permits = tonumber(ARGV[2])
            local period = tonumber(ARGV[3])
            local window = math.floor(now / period)
            local key = KEYS[1] .. ':' .. string.format('%d', window)
            local used = tonumber(redis.call('GET', key) or '0')
            local toEnd = (window + 1) * period - now
            if permits == 0 then
              return {1, limit - used, toEnd, used}
            end
            if used + permits <= limit then
              used = redis.call('INCRBY', key, permits)
              redis.call('PEXPIRE', key, toEnd + 1000)
              return {1, limit - used, toEnd, used}
            end
            return {0, limit - used, toEnd, used}
            """;

    private static final String PREFIX = "llm:ratelimit:";

    private final RedisClient client;
    private final Duration window;
    private final Duration reconnectInterval;
    private final LongSupplier nanoClock;
    private StatefulRedisConnection<String, String> connection;
    private long nextConnectAttempt = Long.MIN_VALUE;

    public RedisQuotas(String url, Duration timeout, Duration window) {
        RedisURI uri = RedisURI.create(url);
        uri.setTimeout(timeout);
        this.client = RedisClient.create(uri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                // while the connection is down, fail at once (and fall back) instead of queueing
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(timeout).build())
                .timeoutOptions(TimeoutOptions.enabled(timeout))
                .build());
        this.window = window;
        this.reconnectInterval = Duration.ofSeconds(2);
        this.nanoClock = System::nanoTime;
        try {
            connection(); // at startup: the client's first connect (event loops, TLS, ...) is its slowest
        } catch (RuntimeException e) {
            nextConnectAttempt = Long.MIN_VALUE; // the first request tries again, and its failure is reported
        }
    }

    /** Redis's host and port, without credentials: what logs may show. */
    public static String describe(String url) {
        RedisURI uri = RedisURI.create(url);
        return uri.getHost() + ":" + uri.getPort();
    }

    @Override
    public Window acquire(String client, LimitKind kind, long limit, long permits) {
        List<Object> r = connection().sync().eval(SCRIPT, ScriptOutputType.MULTI,
                new String[] {PREFIX + kind.wireName() + ":" + client},
                Long.toString(limit), Long.toString(permits), Long.toString(window.toMillis()));
        boolean admitted = ((Long) r.get(0)) == 1L;
        long remaining = Math.max(0, (Long) r.get(1));
        Duration toEnd = Duration.ofMillis((Long) r.get(2));
        long used = (Long) r.get(3);
        return new Window(admitted, limit, remaining, used == 0 ? Duration.ZERO : toEnd,
                admitted ? Duration.ZERO : toEnd);
    }

    /** The connection; a failed first connect is retried at most every {@code reconnectInterval}. */
    private synchronized StatefulRedisConnection<String, String> connection() {
        if (connection == null) {
            long now = nanoClock.getAsLong();
            if (nextConnectAttempt != Long.MIN_VALUE && now < nextConnectAttempt) {
                throw new IllegalStateException("Redis not connected; next attempt in "
                        + Duration.ofNanos(nextConnectAttempt - now).toMillis() + " ms");
            }
            try {
                connection = client.connect();
            } catch (RuntimeException e) {
                nextConnectAttempt = now + reconnectInterval.toNanos();
                throw e;
            }
        }
        return connection;
    }

    @Override
    public boolean remote() {
        return true;
    }

    @Override
    public synchronized void close() {
        if (connection != null) {
            connection.close();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
