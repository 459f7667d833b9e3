package dev.llamaserve.config;

import dev.llamaserve.ops.auth.ApiKeyFilter;
import dev.llamaserve.ops.auth.ApiKeys;
import dev.llamaserve.ops.limits.ConcurrencyLimitFilter;
import dev.llamaserve.ops.limits.FailoverQuotas;
import dev.llamaserve.ops.limits.LocalQuotas;
import dev.llamaserve.ops.limits.QuotaStore;
import dev.llamaserve.ops.limits.RateLimitFilter;
import dev.llamaserve.ops.limits.RateLimits;
import dev.llamaserve.ops.limits.RedisQuotas;
import dev.llamaserve.ops.metrics.RefusalMetrics;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.web.server.WebFilter;

/** Wires API keys, per-client rate limits (local or Redis) and the concurrency bound (package ops). */
@Configuration(proxyBeanMethods = false)
public class OpsLimitsConfiguration {

    private static final Logger log = LoggerFactory.getLogger(OpsLimitsConfiguration.class);

    /**
     * The configured keys. {@code llm.api.keys} set but holding no key (an empty Secret's {@code LLM_API_KEYS=""})
     * and a keys file with no key line fail the start instead of opening the API to every client.
     */
    @Bean
    ApiKeys apiKeys(ApiProperties api, Environment environment) {
        if (environment.getProperty("llm.api.keys") != null
                && (api.keys() == null || api.keys().stream().allMatch(k -> k == null || k.isBlank()))) {
            throw new IllegalArgumentException("llm.api.keys is set but holds no key: that would open the API to every"
                    + " client; give at least one key, or remove the setting to run without keys");
        }
        ApiKeys keys = ApiKeys.load(api.keys(), api.keysFile());
        if (keys.isEmpty()) {
            log.warn("No API keys configured (llm.api.keys, llm.api.keys-file): the API is open to every client");
        } else {
            log.info("API keys: {} loaded, ids {}; required on {}", keys.ids().size(), keys.ids(),
                    api.protectedPaths() + " (but " + api.openPaths() + ")");
        }
        return keys;
    }

    /** Registered only when keys are configured. */
    @Bean
    WebFilter apiKeyFilter(ApiKeys keys, ApiProperties api) {
        return keys.isEmpty() ? (exchange, chain) -> chain.filter(exchange)
                : new ApiKeyFilter(keys, api.protectedPaths(), api.openPaths());
    }

    @Bean(destroyMethod = "close")
    QuotaStore quotaStore(RateLimitProperties props) {
        LocalQuotas local = new LocalQuotas(props.maxClients());
        if (props.redisUrl() == null || props.redisUrl().isBlank()) {
            return local;
        }
        String where = RedisQuotas.describe(props.redisUrl());
        log.info("rate limits: kept in Redis at {} for every replica (on failure: {})", where,
                props.redisFailure().name().toLowerCase());
        return new FailoverQuotas(new RedisQuotas(props.redisUrl(), props.redisTimeout(), Duration.ofMinutes(1)),
                local, props.redisFailure(), where);
    }

    @Bean
    RateLimits rateLimits(QuotaStore store, RateLimitProperties props, RefusalMetrics refusals) {
        return new RateLimits(store, props.requestsPerMinute(), props.tokensPerMinute(), refusals::rateLimited);
    }

    @Bean
    RateLimitFilter rateLimitFilter(RateLimits limits) {
        return new RateLimitFilter(limits);
    }

    @Bean
    ConcurrencyLimitFilter concurrencyLimitFilter(OverloadProperties props, RefusalMetrics refusals) {
        return new ConcurrencyLimitFilter(props.maxConcurrentRequests(), props.maxConcurrentRequestsPerClient(),
                refusals::overloaded, refusals::clientConcurrency);
    }
}
