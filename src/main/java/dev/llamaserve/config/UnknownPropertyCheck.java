package dev.llamaserve.config;

import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/**
 * Fails startup, before anything loads, on an {@code llm.*} setting that no configuration class binds
 * ({@code llm.engine.max-num-seq=8} would otherwise be ignored silently). The known names come from the
 * configuration metadata ({@link KnownProperties}). Every enumerable property source is checked
 * (application properties, system properties, command line); environment variables only when they lie in a
 * known group ({@code LLM_MODEL_*}, {@code LLM_ENGINE_*}, ...), since unrelated {@code LLM_*} variables
 * ({@code LLM_REQUIRE_REDIS}) are common. {@link UnknownPropertyFailureAnalyzer} turns the failure into the
 * one-screen report.
 */
public class UnknownPropertyCheck implements EnvironmentPostProcessor, Ordered {

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        ClassLoader loader = application.getClassLoader() != null ? application.getClassLoader()
                : UnknownPropertyCheck.class.getClassLoader();
        check(environment, KnownProperties.load(loader));
    }

    static void check(ConfigurableEnvironment environment, KnownProperties known) {
        if (known.names().isEmpty()) {
            return;   // no configuration metadata on the class path (a build without the processor): nothing to check against
        }
        List<UnknownPropertyException.Unknown> unknown = new ArrayList<>();
        for (PropertySource<?> source : environment.getPropertySources()) {
            if (!(source instanceof EnumerablePropertySource<?> names)) {
                continue;
            }
            boolean variables = source instanceof SystemEnvironmentPropertySource;
            for (String name : names.getPropertyNames()) {
                if (isUnknown(name, variables, known)) {
                    unknown.add(new UnknownPropertyException.Unknown(name, source.getName(), known.nearest(name)));
                }
            }
        }
        if (!unknown.isEmpty()) {
            throw new UnknownPropertyException(unknown);
        }
    }

    private static boolean isUnknown(String name, boolean variable, KnownProperties known) {
        if (variable && name.indexOf('.') < 0) {
            return known.inKnownGroup(name) && !known.knowsVariable(name);
        }
        return KnownProperties.uniform(name).startsWith(KnownProperties.ROOT + ".") && !known.knows(name);
    }

    /** After the config files are read (ConfigDataEnvironmentPostProcessor runs much earlier). */
    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
