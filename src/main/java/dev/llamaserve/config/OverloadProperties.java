package dev.llamaserve.config;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code llm.ops.max-concurrent-requests*}: overload control in front of the engine.
 *
 * @param maxConcurrentRequests chat and text completion requests in flight at once, streams until their
 *        last byte (default 512); one more is answered 503 {@code overloaded} with Retry-After at once. The
 *        engine's own queue ({@code llm.engine.max-waiting}) is bounded behind it.
 * @param maxConcurrentRequestsPerClient of those, the most one client (API key, else remote address) may hold
 *        (default 0 = no bound beyond the server's); one more of its own is its 429
 */
@ConfigurationProperties(prefix = "llm.ops")
public record OverloadProperties(@DefaultValue("512") int maxConcurrentRequests,
        @DefaultValue("0") int maxConcurrentRequestsPerClient) {

    public OverloadProperties {
        if (maxConcurrentRequests < 1) {
            throw new IllegalArgumentException("llm.ops.max-concurrent-requests must be >= 1, got "
                    + maxConcurrentRequests);
        }
        if (maxConcurrentRequestsPerClient < 0) {
            throw new IllegalArgumentException("llm.ops.max-concurrent-requests-per-client must be >= 0 (0 = off), got "
                    + maxConcurrentRequestsPerClient);
        }
    }
}
