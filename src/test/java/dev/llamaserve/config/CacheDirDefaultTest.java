package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/**
 * {@code llm.cache-dir} defaults to the real home directory's {@code .cache/llama-serve}, bound as Spring
 * Boot binds it at startup (a {@code @DefaultValue("${user.home}/...")} was not resolved and wrote the demo
 * into a folder literally named {@code ${user.home}} under the working directory).
 */
class CacheDirDefaultTest {

    private static LlmProperties bind(Map<String, String> properties) {
        return new Binder(new MapConfigurationPropertySource(properties)).bindOrCreate("llm", LlmProperties.class);
    }

    @Test
    void theDefaultIsTheHomeDirectorysCache() {
        Path home = Path.of(System.getProperty("user.home"));
        Path cacheDir = bind(Map.of()).cacheDir();
        assertThat(cacheDir).isEqualTo(home.resolve(".cache").resolve("llama-serve"));
        assertThat(cacheDir).isAbsolute();
        assertThat(cacheDir.toString()).doesNotContain("${").doesNotContain("user.home");
    }

    @Test
    void aConfiguredDirectoryIsKept() {
        assertThat(bind(Map.of("llm.cache-dir", "/srv/llama-cache")).cacheDir()).isEqualTo(Path.of("/srv/llama-cache"));
    }
}
