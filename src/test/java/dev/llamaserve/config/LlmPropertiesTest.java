package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.chat.ChatOptions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/**
 * {@code llm.engine.*} and {@code llm.chat.*} are checked as they are bound, naming the property: the engine is made
 * after the weights load and the chat format at the first request, where a wrong value cost minutes (an 8B load)
 * or turned every chat request into a 500 behind a ready probe.
 */
class LlmPropertiesTest {

    private static LlmProperties bind(Map<String, String> values) {
        return new Binder(new MapConfigurationPropertySource(values)).bindOrCreate("llm", LlmProperties.class);
    }

    @Test
    void theDefaultsBind() {
        LlmProperties p = bind(Map.of());
        assertThat(p.engine().maxNumSeqs()).isEqualTo(16);
        assertThat(p.chat().options()).isEqualTo(ChatOptions.defaults());
        assertThat(bind(Map.of("llm.chat.enabled", "FALSE")).chat().enabled()).isEqualTo(ChatOptions.Enabled.FALSE);
    }

    @Test
    void aWrongEngineSettingStopsTheBindNamingIt() {
        Map<String, String> wrong = Map.of(
                "llm.engine.max-num-seqs", "0",
                "llm.engine.max-waiting", "-1",
                "llm.engine.max-num-batched-tokens", "0",
                "llm.engine.block-size", "0",
                "llm.engine.max-buffered-events", "0",
                "llm.engine.max-model-len", "1");
        wrong.forEach((name, value) -> assertThatThrownBy(() -> bind(Map.of(name, value)))
                .as(name).rootCause().hasMessageContaining(name).hasMessageContaining(value));
        assertThatThrownBy(() -> bind(Map.of("llm.engine.max-num-seqs", "64", "llm.engine.max-num-batched-tokens", "32")))
                .rootCause().hasMessageContaining("llm.engine.max-num-batched-tokens (32) must be >= llm.engine.max-num-seqs");
    }

    @Test
    void aNonPositiveRedisTimeoutStopsTheBindNamingIt() {
        for (String t : new String[] {"-1s", "0s"}) {
            assertThatThrownBy(() -> new Binder(new MapConfigurationPropertySource(Map.of("llm.ratelimit.redis-timeout", t)))
                    .bindOrCreate("llm.ratelimit", RateLimitProperties.class))
                    .rootCause().hasMessageContaining("llm.ratelimit.redis-timeout must be > 0");
        }
    }

    @Test
    void aWrongChatSettingStopsTheBindNamingIt() {
        assertThatThrownBy(() -> bind(Map.of("llm.chat.max-messages", "0"))).rootCause()
                .hasMessageContaining("llm.chat.max-messages");
        assertThatThrownBy(() -> bind(Map.of("llm.chat.enabled", "maybe")))
                .hasMessageContaining("llm.chat.enabled");
    }
}
