package dev.llamaserve.config;

import dev.llamaserve.ops.health.ProbePaths;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code llm.metrics.*}: metrics and access log.
 *
 * @param keyIdLimit how many distinct API key ids get their own {@code key_id} label on the per-key token
 *     counter; later ids are counted as {@code other} (default 100)
 * @param accessLogExclude path patterns the access log does not write a line for (default the probes and
 *     actuator: {@code /actuator/**,/livez,/readyz})
 */
@ConfigurationProperties(prefix = "llm.metrics")
public record MetricsProperties(
        @DefaultValue("100") int keyIdLimit,
        @DefaultValue({"/actuator/**", ProbePaths.LIVEZ, ProbePaths.READYZ}) List<String> accessLogExclude) {

    public MetricsProperties {
        if (keyIdLimit < 0) {
            throw new IllegalArgumentException("llm.metrics.key-id-limit must not be negative, got " + keyIdLimit);
        }
    }
}
