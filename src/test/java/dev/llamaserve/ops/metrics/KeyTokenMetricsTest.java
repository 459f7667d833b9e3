package dev.llamaserve.ops.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

/** Per-key token counters keep their label set bounded: the first N ids, then {@code other}. */
class KeyTokenMetricsTest {

    @Test
    void firstIdsGetTheirOwnLabelLaterOnesShareOther() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        KeyTokenMetrics keys = new KeyTokenMetrics(registry, 2);
        keys.add("team-a", 10, 5);
        keys.add("team-b", 20, 6);
        for (int i = 0; i < 1000; i++) {
            keys.add("key-" + i, 1, 1);
        }
        keys.add("team-a", 1, 1);
        keys.add(null, 7, 3);
        assertThat(tokens(registry, "team-a", "prompt")).isEqualTo(11);
        assertThat(tokens(registry, "team-a", "completion")).isEqualTo(6);
        assertThat(tokens(registry, "team-b", "prompt")).isEqualTo(20);
        assertThat(tokens(registry, KeyTokenMetrics.OTHER, "prompt")).isEqualTo(1000);
        assertThat(tokens(registry, KeyTokenMetrics.ANONYMOUS, "completion")).isEqualTo(3);
        // team-a, team-b, other, anonymous: two meters each
        assertThat(registry.find("llm.key.tokens").counters()).hasSize(8);
    }

    private static double tokens(SimpleMeterRegistry registry, String keyId, String type) {
        Counter c = registry.get("llm.key.tokens").tags("key_id", keyId, "type", type).counter();
        return c.count();
    }
}
