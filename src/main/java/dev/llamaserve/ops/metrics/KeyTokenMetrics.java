package dev.llamaserve.ops.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code llm_key_tokens_total{key_id, type}}: prompt and completion tokens per API key id, with bounded
 * cardinality: the first {@code maxKeyIds} ids seen get their own label, every later one is counted as
 * {@code other}; requests without a key as {@code anonymous}. Key ids come from the keys file (never keys).
 */
public final class KeyTokenMetrics {

    public static final String OTHER = "other";
    public static final String ANONYMOUS = "anonymous";

    private final MeterRegistry registry;
    private final int maxKeyIds;
    private final Map<String, Counter[]> counters = new ConcurrentHashMap<>();
    private int ownIds;

    public KeyTokenMetrics(MeterRegistry registry, int maxKeyIds) {
        this.registry = registry;
        this.maxKeyIds = maxKeyIds;
    }

    /** Adds a finished request's tokens to its key's counters. */
    public void add(String keyId, int promptTokens, int completionTokens) {
        if (promptTokens <= 0 && completionTokens <= 0) {
            return;
        }
        String id = keyId == null ? ANONYMOUS : keyId;
        Counter[] c = counters.get(id);
        if (c == null) {
            c = register(id);
        }
        c[0].increment(Math.max(0, promptTokens));
        c[1].increment(Math.max(0, completionTokens));
    }

    /** The counters of a new id: its own while fewer than maxKeyIds have their own, else {@code other}'s. */
    private Counter[] register(String id) {
        synchronized (counters) {
            Counter[] c = counters.get(id);
            if (c != null) {
                return c;
            }
            if (id.equals(ANONYMOUS) || ownIds < maxKeyIds) {
                if (!id.equals(ANONYMOUS)) {
                    ownIds++;
                }
                return counters.computeIfAbsent(id, this::create);
            }
            return counters.computeIfAbsent(OTHER, this::create); // later ids are not remembered: memory stays bounded
        }
    }

    private Counter[] create(String label) {
        return new Counter[] {counter(label, "prompt"), counter(label, "completion")};
    }

    private Counter counter(String keyId, String type) {
        return Counter.builder("llm.key.tokens").description("Tokens per API key id (first ids seen, then 'other')")
                .tag("key_id", keyId).tag("type", type).register(registry);
    }
}
