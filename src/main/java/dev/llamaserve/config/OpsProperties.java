package dev.llamaserve.config;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code llm.ops.*} of the service's lifecycle (other {@code llm.ops} settings have their own records).
 *
 * @param stallTimeout liveness turns DOWN when requests are pending and the engine has not completed a step
 *     for this long (default 60s; an idle engine is healthy). Must exceed the longest single step (a full
 *     prefill chunk of a large model on CPU)
 * @param drainTimeout on SIGTERM, how long running requests may still take before they are ended with an
 *     error (default 30s)
 */
@ConfigurationProperties(prefix = "llm.ops")
public record OpsProperties(
        @DefaultValue("60s") Duration stallTimeout,
        @DefaultValue("30s") Duration drainTimeout) {

    public OpsProperties {
        if (stallTimeout == null || stallTimeout.isNegative() || stallTimeout.isZero()) {
            throw new IllegalArgumentException("llm.ops.stall-timeout must be positive, was " + stallTimeout);
        }
        if (drainTimeout == null || drainTimeout.isNegative()) {
            throw new IllegalArgumentException("llm.ops.drain-timeout must not be negative, was " + drainTimeout);
        }
    }
}
