package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.engine.device.KvCacheMemory;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/** Both size settings read the same text as the same number of bytes (one parser: MB = 1000², MiB = 1024²). */
class SizePropertiesTest {

    private static ApiProperties api(String maxBody) {
        MapConfigurationPropertySource source = new MapConfigurationPropertySource();
        if (maxBody != null) {
            source.put("llm.api.max-body-bytes", maxBody);
        }
        return new Binder(List.of(source)).bindOrCreate("llm.api", ApiProperties.class);
    }

    @Test
    void fourMegabytesAreTheSameBytesInBothSettings() {
        for (String text : List.of("4MB", "4MiB", "4mb", "1.5MB", "4194304")) {
            long body = api(text).toSettings().maxBodyBytes();
            assertThat(body).as(text).isEqualTo(KvCacheMemory.parse(text).bytes());
        }
        assertThat(api("4MB").toSettings().maxBodyBytes()).isEqualTo(4_000_000L);
        assertThat(api("4MiB").toSettings().maxBodyBytes()).isEqualTo(4_194_304L);
    }

    @Test
    void theBodyLimitDefaultIsFourMebibytes() {
        ApiProperties defaults = api(null);
        assertThat(defaults.toSettings().maxBodyBytes()).isEqualTo(4L << 20);
        assertThat(defaults.keepAliveInterval()).isEqualTo(Duration.ofSeconds(5));
    }

    /** A budget below one largest body refused every chunked body with a 503, for ever: now a start failure. */
    @Test
    void theBodyBudgetHoldsOneLargestBody() {
        MapConfigurationPropertySource source = new MapConfigurationPropertySource();
        source.put("llm.api.max-body-bytes-in-flight", "1MiB");
        ApiProperties small = new Binder(List.of(source)).bindOrCreate("llm.api", ApiProperties.class);
        assertThatThrownBy(small::toSettings).hasMessageContaining("llm.api.max-body-bytes-in-flight")
                .hasMessageContaining("llm.api.max-body-bytes (4194304 bytes)");
        source.put("llm.api.max-body-bytes-in-flight", "4MiB");
        ApiProperties enough = new Binder(List.of(source)).bindOrCreate("llm.api", ApiProperties.class);
        assertThat(enough.toSettings().bodies().bytes()).isEqualTo(4L << 20);
    }

    @Test
    void aBadBodySizeNamesTheSetting() {
        assertThatThrownBy(() -> api("4 lots").toSettings())
                .hasMessageContaining("llm.api.max-body-bytes").hasMessageContaining("4 lots");
    }
}
