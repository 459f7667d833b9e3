package dev.llamaserve.ops.health;

import dev.llamaserve.ops.lifecycle.ModelLifecycle;
import dev.llamaserve.ops.lifecycle.ServingPhase;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * Member of the readiness group ({@code /readyz}, {@code /actuator/health/readiness}): UP only when the
 * model is loaded, warmed up and serving; DOWN while loading, warming up, draining, or after an engine
 * failure.
 */
public final class ReadinessIndicator implements HealthIndicator {

    private final ModelLifecycle lifecycle;

    public ReadinessIndicator(ModelLifecycle lifecycle) {
        this.lifecycle = lifecycle;
    }

    @Override
    public Health health() {
        ServingPhase p = lifecycle.phase();
        return (p == ServingPhase.READY ? Health.up() : Health.down()).withDetail("phase", p.name()).build();
    }
}
