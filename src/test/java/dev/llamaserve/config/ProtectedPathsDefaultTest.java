package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.ops.ModelRoutes;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/**
 * The default {@code llm.api.protected-paths} names ModelRoutes' constants one by one (an annotation's default must
 * be constants): every model route, the gate's and the rate limits', needs a key by default too.
 */
class ProtectedPathsDefaultTest {

    @Test
    void everyModelRouteIsProtectedByDefault() {
        ApiProperties api = new Binder(List.of(new MapConfigurationPropertySource(Map.of())))
                .bindOrCreate("llm.api", ApiProperties.class);
        assertThat(api.protectedPaths()).containsAll(ModelRoutes.PATTERNS).contains("/actuator/**");
    }
}
