package dev.llamaserve.ops.health;

import dev.llamaserve.engine.EngineStats;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Tells a stalled engine from a busy or idle one: stalled means work is pending (waiting or running
 * requests) and the step counter has not moved for the stall timeout. Idle is never stalled. Fed with
 * engine snapshots ({@link #observe}); the time since the last progress counts from the last snapshot that
 * showed the engine idle or its counter moved.
 */
public final class StallWatch {

    private final Duration timeout;
    private final LongSupplier nanoClock;
    private long lastSteps = -1;
    private long progressAt;

    public StallWatch(Duration timeout, LongSupplier nanoClock) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("llm.ops.stall-timeout must be positive, was " + timeout);
        }
        this.timeout = timeout;
        this.nanoClock = nanoClock;
        this.progressAt = nanoClock.getAsLong();
    }

    /** Records a snapshot; returns how long the engine has had pending work without a step. */
    public synchronized Duration observe(EngineStats s) {
        long now = nanoClock.getAsLong();
        if (s.waiting() + s.running() == 0 || s.steps() != lastSteps) {
            lastSteps = s.steps();
            progressAt = now;
        }
        return Duration.ofNanos(now - progressAt);
    }

    /** Records a snapshot; true when the engine has had pending work and no step for the stall timeout. */
    public boolean stalled(EngineStats s) {
        return observe(s).compareTo(timeout) >= 0;
    }

    public Duration timeout() {
        return timeout;
    }
}
