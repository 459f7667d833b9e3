package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.ops.auth.ApiKeys;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.mock.env.MockEnvironment;

/** The startup lines about keys: ids only, never a key or its digest; one warning when there are none. */
@ExtendWith(OutputCaptureExtension.class)
class OpsLimitsConfigurationTest {

    private static ApiProperties api(List<String> keys) {
        return new ApiProperties(false, "4MiB", Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(30),
                Duration.ofSeconds(60), "auto", "auto", keys, null, List.of("/v1/**"), List.of(), List.of());
    }

    @Test
    void keysAreLoggedByIdOnly(CapturedOutput output) {
        ApiKeys keys = new OpsLimitsConfiguration().apiKeys(api(List.of("sk-very-secret-1", "sk-very-secret-2")),
                new MockEnvironment().withProperty("llm.api.keys", "sk-very-secret-1,sk-very-secret-2"));
        assertThat(keys.ids()).containsExactly("key-1", "key-2");
        assertThat(output.getAll()).contains("API keys: 2 loaded, ids [key-1, key-2]")
                .doesNotContain("sk-very-secret")
                .doesNotContain(HexFormat.of().formatHex(ApiKeys.sha256("sk-very-secret-1")));
    }

    /** An empty Secret ({@code LLM_API_KEYS=""}) or a list of blanks must not switch authentication off. */
    @Test
    void keysSetToNothingFailTheStart() {
        for (String value : List.of("", " ", ",")) {
            List<String> bound = java.util.Arrays.stream(value.split(",", -1)).toList();
            assertThatThrownBy(() -> new OpsLimitsConfiguration().apiKeys(api(value.isEmpty() ? List.of() : bound),
                    new MockEnvironment().withProperty("llm.api.keys", value)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("llm.api.keys is set but holds no key");
        }
    }

    @Test
    void noKeysIsOneWarning(CapturedOutput output) {
        assertThat(new OpsLimitsConfiguration().apiKeys(api(null), new MockEnvironment()).isEmpty()).isTrue();
        String log = output.getAll();
        assertThat(log.split("No API keys configured", -1)).hasSize(2);
        assertThat(log).contains("WARN");
    }
}
