package dev.llamaserve.config;

import dev.llamaserve.ops.limits.FailoverQuotas;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code llm.ratelimit.*}: per-client rate limits (the client is the API key's id, else the remote address).
 *
 * @param requestsPerMinute requests per client per minute on the model's routes ({@code /v1/**}, {@code /tokenize},
 *        {@code /detokenize}) (default 0 = off)
 * @param tokensPerMinute tokens per client per minute, charged at admission as prompt tokens plus
 *        {@code max_tokens} (or the context left when unset) (default 0 = off)
 * @param redisUrl Redis holding the windows for every replica, e.g. {@code redis://127.0.0.1:6379} (default
 *        unset: each replica limits on its own)
 * @param redisFailure when Redis fails: {@code open} (default: this replica's own limits) or {@code closed}
 *        (503)
 * @param redisTimeout connect and command timeout for Redis (default 500ms)
 * @param maxClients limiters kept in memory, one per client and limit (two per client limited on both requests
 *        and tokens per minute); idle ones are dropped after a minute, and beyond this the least recently used
 *        (default 10000)
 */
@ConfigurationProperties(prefix = "llm.ratelimit")
public record RateLimitProperties(
        @DefaultValue("0") long requestsPerMinute,
        @DefaultValue("0") long tokensPerMinute,
        String redisUrl,
        @DefaultValue("open") FailoverQuotas.OnFailure redisFailure,
        @DefaultValue("500ms") Duration redisTimeout,
        @DefaultValue("10000") int maxClients) {

    public RateLimitProperties {
        if (requestsPerMinute < 0 || requestsPerMinute > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("llm.ratelimit.requests-per-minute must be in [0, 2^31), got "
                    + requestsPerMinute);
        }
        if (tokensPerMinute < 0 || tokensPerMinute > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("llm.ratelimit.tokens-per-minute must be in [0, 2^31), got "
                    + tokensPerMinute);
        }
        if (maxClients < 1) {
            throw new IllegalArgumentException("llm.ratelimit.max-clients must be >= 1, got " + maxClients);
        }
        if (redisTimeout == null || redisTimeout.isNegative() || redisTimeout.isZero()) {
            throw new IllegalArgumentException("llm.ratelimit.redis-timeout must be > 0, got " + redisTimeout);
        }
    }
}
