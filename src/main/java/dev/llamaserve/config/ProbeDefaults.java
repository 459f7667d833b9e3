package dev.llamaserve.config;

import dev.llamaserve.ops.health.ProbePaths;
import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Defaults (lowest precedence: any property file, argument or variable overrides them) that make the
 * Actuator's liveness and readiness groups the service's probes: they include the engine's indicators
 * ({@code engineLiveness}, {@code engineReadiness} from {@link LifecycleConfiguration}), show their details,
 * and are also served on the main port at {@link ProbePaths}. Set in code, not in application.properties,
 * so they hold wherever the application runs (an application.properties of tests or of an embedding
 * application replaces the service's own). Graceful shutdown of the web server follows the engine's drain, and
 * each shutdown phase, the web server's graceful shutdown among them, waits at most
 * {@value #SHUTDOWN_PHASE_TIMEOUT} (Spring's default is 30s): with the up to 2 s that the drain may take past
 * {@code llm.ops.drain-timeout}, that fits in the 15 s margin that the Helm chart and {@code k8s/} add to preStop
 * and the drain in {@code terminationGracePeriodSeconds}.
 */
public final class ProbeDefaults implements EnvironmentPostProcessor {

    static final String SOURCE = "llamaServeProbeDefaults";
    /** {@code spring.lifecycle.timeout-per-shutdown-phase}'s default here. */
    static final String SHUTDOWN_PHASE_TIMEOUT = "10s";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        environment.getPropertySources().addLast(new MapPropertySource(SOURCE, Map.of(
                "management.endpoint.health.probes.enabled", "true",
                "management.endpoint.health.group.liveness.include", "livenessState,engineLiveness",
                "management.endpoint.health.group.liveness.additional-path", "server:" + ProbePaths.LIVEZ,
                "management.endpoint.health.group.liveness.show-details", "always",
                "management.endpoint.health.group.readiness.include", "readinessState,engineReadiness",
                "management.endpoint.health.group.readiness.additional-path", "server:" + ProbePaths.READYZ,
                "management.endpoint.health.group.readiness.show-details", "always",
                "server.shutdown", "graceful",
                "spring.lifecycle.timeout-per-shutdown-phase", SHUTDOWN_PHASE_TIMEOUT)));
    }
}
