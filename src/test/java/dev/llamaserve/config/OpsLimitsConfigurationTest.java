package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.ops.auth.ApiKeys;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/** The startup lines about keys: ids only, never a key or its digest; one warning when there are none. */
@ExtendWith(OutputCaptureExtension.class)
class OpsLimitsConfigurationTest {

    private static ApiProperties api(List<String> keys) {
        return new ApiProperties(false, "4MiB", Duration.ofSeconds(5), Duration.ofSeconds(1), keys,
                null, List.of("/v1/**"));
    }

    @Test
    void keysAreLoggedByIdOnly(CapturedOutput output) {
        ApiKeys keys = new OpsLimitsConfiguration().apiKeys(api(List.of("sk-very-secret-1", "sk-very-secret-2")));
        assertThat(keys.ids()).containsExactly("key-1", "key-2");
        assertThat(output.getAll()).contains("API keys: 2 loaded, ids [key-1, key-2]")
                .doesNotContain("sk-very-secret")
                .doesNotContain(HexFormat.of().formatHex(ApiKeys.sha256("sk-very-secret-1")));
    }

    @Test
    void noKeysIsOneWarning(CapturedOutput output) {
        assertThat(new OpsLimitsConfiguration().apiKeys(api(null)).isEmpty()).isTrue();
        String log = output.getAll();
        assertThat(log.split("No API keys configured", -1)).hasSize(2);
        assertThat(log).contains("WARN");
    }
}
