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
    private Duration limit;

    /** A step may take this many times what its tokens should take before it counts as a hang. */
    static final long EXPECTED_FACTOR = 3;

    public StallWatch(Duration timeout, LongSupplier nanoClock) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("llm.ops.stall-timeout must be positive, was " + timeout);
        }
        this.timeout = timeout;
        this.nanoClock = nanoClock;
        this.progressAt = nanoClock.getAsLong();
        this.limit = timeout;
    }

    /** Records a snapshot; returns how long the engine has had pending work without a step. */
    public synchronized Duration observe(EngineStats s) {
        long now = nanoClock.getAsLong();
        if (s.waiting() + s.running() == 0 || s.steps() != lastSteps) {
            lastSteps = s.steps();
            progressAt = now;
        }
        limit = limit(s);
        return Duration.ofNanos(now - progressAt);
    }

    /** Records a snapshot; true when the engine has had pending work and no step for {@link #limit()}. */
    public synchronized boolean stalled(EngineStats s) {
        return observe(s).compareTo(limit) >= 0;
    }

    /**
     * How long a step may take before the engine counts as stalled, as of the last snapshot: the timeout, or
     * {@value #EXPECTED_FACTOR} times what the step in progress should take at the slowest rate per token the
     * engine has seen ({@link EngineStats#expectedStepNanos()}), whichever is longer. A prefill chunk of a large
     * model on a CPU takes longer than the default timeout (one 2,048-token chunk of the 1B shape took 48-63 s on a
     * loaded 2-core machine, an 8B about six times that) and is not a hang.
     */
    public synchronized Duration limit() {
        return limit;
    }

    private Duration limit(EngineStats s) {
        long expected = s.expectedStepNanos();
        if (expected <= 0 || expected >= Long.MAX_VALUE / EXPECTED_FACTOR) {
            return timeout;
        }
        Duration allowed = Duration.ofNanos(expected * EXPECTED_FACTOR);
        return allowed.compareTo(timeout) > 0 ? allowed : timeout;
    }

    public Duration timeout() {
        return timeout;
    }
}
