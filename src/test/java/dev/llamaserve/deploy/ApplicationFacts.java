package dev.llamaserve.deploy;

import dev.llamaserve.config.LlmProperties;
import dev.llamaserve.config.ProbeDefaults;
import dev.llamaserve.engine.core.LlmEngine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.context.LifecycleProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.reactor.netty.NettyReactiveWebServerFactory;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.core.io.support.PropertiesLoaderUtils;

/**
 * What the application itself says about ports and the paths it writes, read from the application (its
 * application.properties, its web server's default port, its property records bound the way Spring Boot
 * binds environment variables), so that manifests are checked against the application and not a copy.
 */
final class ApplicationFacts {

    private ApplicationFacts() {}

    /** server.port from the application's own application.properties, else the web server's default. */
    static int serverPort() {
        try {
            Properties properties = PropertiesLoaderUtils.loadAllProperties("application.properties");
            String port = properties.getProperty("server.port");
            return port != null ? Integer.parseInt(port.trim()) : new NettyReactiveWebServerFactory().getPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A binder over a container's environment, as Spring Boot sees environment variables. */
    static Binder binder(Map<String, String> environment) {
        var source = new SystemEnvironmentPropertySource(
                StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, Map.copyOf(environment));
        return new Binder(ConfigurationPropertySources.from(source));
    }

    /** {@code llm.cache-dir} as the application binds it from this environment. */
    static Path llmCacheDir(Map<String, String> environment) {
        return binder(environment).bind("llm", LlmProperties.class)
                .orElseThrow(() -> new AssertionError("no llm.* properties in " + environment.keySet()))
                .cacheDir();
    }

    /** {@code llm.model.path} as the application binds it, or null (the demo checkpoint). */
    static Path modelPath(Map<String, String> environment) {
        return binder(environment).bind("llm.model.path", Path.class).orElse(null);
    }

    /** {@code llm.ops.drain-timeout} as the application binds it; the manifests must set it explicitly. */
    static Duration drainTimeout(Map<String, String> environment) {
        return binder(environment).bind("llm.ops.drain-timeout", Duration.class)
                .orElseThrow(() -> new AssertionError("llm.ops.drain-timeout is not set: " + environment.keySet()));
    }

    /**
     * {@code spring.lifecycle.timeout-per-shutdown-phase} as the application binds it from this environment: the
     * application's own default ({@link ProbeDefaults}) unless the environment sets one, else Spring's.
     */
    static Duration shutdownPhaseTimeout(Map<String, String> environment) {
        StandardEnvironment application = new StandardEnvironment();
        MutablePropertySources sources = application.getPropertySources();
        sources.remove(StandardEnvironment.SYSTEM_PROPERTIES_PROPERTY_SOURCE_NAME);
        sources.replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, new SystemEnvironmentPropertySource(
                StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, Map.copyOf(environment)));
        new ProbeDefaults().postProcessEnvironment(application, new SpringApplication());
        return Binder.get(application).bind("spring.lifecycle", LifecycleProperties.class)
                .orElseGet(LifecycleProperties::new).getTimeoutPerShutdownPhase();
    }

    /**
     * The longest the shutdown may take after {@code llm.ops.drain-timeout}: the step in progress the engine's
     * close waits for past the drain deadline, then a shutdown phase (the web server's graceful shutdown).
     */
    static Duration shutdownPastDrain(Map<String, String> environment) {
        return Duration.ofMillis(LlmEngine.STEP_PAST_DEADLINE_MILLIS).plus(shutdownPhaseTimeout(environment));
    }

    /**
     * Directories DJL writes at start (native libraries extracted from the jars): ai.djl.util.Utils reads
     * ENGINE_CACHE_DIR, else DJL_CACHE_DIR, else ~/.djl.ai (or the temp dir when home is not writable).
     */
    static List<String> djlCacheDirs(Map<String, String> environment) {
        String engine = environment.get("ENGINE_CACHE_DIR");
        String cache = environment.get("DJL_CACHE_DIR");
        if (engine == null && cache == null) {
            throw new AssertionError("neither ENGINE_CACHE_DIR nor DJL_CACHE_DIR is set: DJL would write to ~/.djl.ai");
        }
        return engine == null ? List.of(cache) : cache == null ? List.of(engine) : List.of(engine, cache);
    }

    /**
     * Temp directories the JVM writes: java.io.tmpdir (default /tmp) and JNA's, where it extracts its native
     * dispatch library (DJL loads JNA); unset, JNA writes under ~/.cache/JNA, on the read-only root filesystem.
     */
    static List<String> tmpDirs(Map<String, String> environment) {
        String javaTmp = "/tmp";
        String jnaTmp = null;
        for (String option : environment.getOrDefault("JAVA_TOOL_OPTIONS", "").split("\\s+")) {
            if (option.startsWith("-Djava.io.tmpdir=")) {
                javaTmp = option.substring("-Djava.io.tmpdir=".length());
            } else if (option.startsWith("-Djna.tmpdir=")) {
                jnaTmp = option.substring("-Djna.tmpdir=".length());
            }
        }
        if (jnaTmp == null) {
            throw new AssertionError("-Djna.tmpdir is not set in JAVA_TOOL_OPTIONS: JNA would write to ~/.cache/JNA");
        }
        return List.of(javaTmp, jnaTmp);
    }
}
