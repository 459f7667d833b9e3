package dev.llamaserve.ops.health;

import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.ops.lifecycle.ModelLifecycle;
import dev.llamaserve.ops.lifecycle.ServingPhase;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * Member of the liveness group ({@code /livez}, {@code /actuator/health/liveness}): DOWN when the engine
 * failed unrecoverably, or when work is pending and the engine's step counter has not advanced for
 * {@code llm.ops.stall-timeout}. Loading, idle and busy are alive. A daemon thread samples the engine
 * every second (or a quarter of the timeout, if shorter), so a stall is timed from when it began, not
 * from the previous probe.
 */
public final class LivenessIndicator implements HealthIndicator, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LivenessIndicator.class);

    private final ModelLifecycle lifecycle;
    private final StallWatch watch;
    private final ScheduledExecutorService sampler;
    private volatile Duration stalledFor = Duration.ZERO;

    public LivenessIndicator(ModelLifecycle lifecycle, Duration stallTimeout) {
        this.lifecycle = lifecycle;
        this.watch = new StallWatch(stallTimeout, System::nanoTime);
        this.sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "llm-stall-watch");
            t.setDaemon(true);
            return t;
        });
        long period = Math.max(10, Math.min(1000, stallTimeout.toMillis() / 4));
        sampler.scheduleAtFixedRate(this::sample, period, period, TimeUnit.MILLISECONDS);
    }

    private void sample() {
        try {
            InferenceEngine e = lifecycle.engine();
            if (e == null) {
                return;
            }
            EngineStats s = e.stats();
            boolean wasStalled = stalled();
            stalledFor = watch.observe(s);
            if (!wasStalled && stalled()) {
                log.error("Engine stalled: {} waiting and {} running requests, no step for {} ms"
                        + " (llm.ops.stall-timeout)", s.waiting(), s.running(), stalledFor.toMillis());
            }
        } catch (Throwable ex) {
            // a failed sample must not end the schedule (an executor drops a task that threw): not even an
            // OutOfMemoryError, after which liveness is what gets the pod restarted
            log.warn("Sampling the engine for the stall check failed", ex);
        }
    }

    private boolean stalled() {
        return stalledFor.compareTo(watch.limit()) >= 0;
    }

    @Override
    public Health health() {
        ServingPhase p = lifecycle.phase();
        if (p == ServingPhase.FAILED) {
            return Health.down().withDetail("phase", p.name()).withDetail("reason", "engine failed").build();
        }
        if (stalled()) {
            return Health.down().withDetail("phase", p.name())
                    .withDetail("reason", "pending work and no engine step for " + stalledFor.toMillis() + " ms")
                    .build();
        }
        return Health.up().withDetail("phase", p.name()).build();
    }

    @Override
    public void close() {
        sampler.shutdownNow();
    }
}
