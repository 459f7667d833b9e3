package dev.llamaserve.ops.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.engine.EngineState;
import dev.llamaserve.engine.EngineStats;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Stalled = pending work and a step counter that has not moved for the timeout; idle is never stalled. */
class StallWatchTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final StallWatch watch = new StallWatch(Duration.ofSeconds(60), now::get);

    private static EngineStats stats(int waiting, int running, long steps) {
        return new EngineStats(EngineState.READY, waiting, running, 0, 100, 0, 0, steps, 0);
    }

    /** One sequence running, at step counter {@code steps}, in a step expected to take {@code expected}. */
    private static EngineStats running(long steps, Duration expected) {
        return new EngineStats(EngineState.READY, 0, 1, 0, 100, 1, 1, steps, 0, 0, 0, 0, 0, expected.toNanos());
    }

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    @Test
    void anIdleEngineIsNeverStalled() {
        for (int i = 0; i < 10; i++) {
            assertThat(watch.stalled(stats(0, 0, 5))).isFalse();
            advance(Duration.ofSeconds(59));
        }
        assertThat(watch.observe(stats(0, 0, 5))).isZero();
    }

    @Test
    void pendingWorkWithoutAStepForTheTimeoutIsStalled() {
        assertThat(watch.stalled(stats(0, 0, 7))).isFalse();
        advance(Duration.ofSeconds(1));
        assertThat(watch.stalled(stats(2, 1, 7))).isFalse();
        advance(Duration.ofSeconds(58));
        assertThat(watch.stalled(stats(2, 1, 7))).as("59 s since the last idle snapshot").isFalse();
        advance(Duration.ofSeconds(1));
        assertThat(watch.stalled(stats(2, 1, 7))).as("60 s").isTrue();
        assertThat(watch.observe(stats(2, 1, 7))).isEqualTo(Duration.ofSeconds(60));
    }

    /**
     * A step the engine expects to be long (a prefill chunk of a large model on a CPU: its tokens at the slowest
     * rate per token seen) may take three times that before it is a stall; a short one keeps the timeout.
     */
    @Test
    void aStepExpectedToBeLongMayTakeThreeTimesItsExpectedTime() {
        EngineStats longStep = running(9, Duration.ofSeconds(100));
        assertThat(watch.stalled(longStep)).isFalse();
        advance(Duration.ofSeconds(299));
        assertThat(watch.stalled(longStep)).as("299 s of a step expected to take 100 s").isFalse();
        assertThat(watch.limit()).isEqualTo(Duration.ofSeconds(300));
        advance(Duration.ofSeconds(1));
        assertThat(watch.stalled(longStep)).as("300 s").isTrue();

        EngineStats shortStep = running(10, Duration.ofSeconds(5));
        assertThat(watch.stalled(shortStep)).isFalse();
        advance(Duration.ofSeconds(60));
        assertThat(watch.stalled(shortStep)).as("3 x 5 s is below the timeout: the timeout holds").isTrue();
        assertThat(watch.limit()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void aMovingStepCounterIsAlive() {
        long steps = 0;
        for (int i = 0; i < 20; i++) {
            assertThat(watch.stalled(stats(0, 4, steps++))).isFalse();
            advance(Duration.ofSeconds(30));
        }
    }

    @Test
    void progressAfterAStallClearsIt() {
        watch.observe(stats(0, 1, 3));
        advance(Duration.ofSeconds(61));
        assertThat(watch.stalled(stats(0, 1, 3))).isTrue();
        assertThat(watch.stalled(stats(0, 1, 4))).isFalse();
        advance(Duration.ofSeconds(61));
        assertThat(watch.stalled(stats(0, 0, 4))).as("the work finished").isFalse();
    }

    @Test
    void theTimeoutMustBePositive() {
        assertThatThrownBy(() -> new StallWatch(Duration.ZERO, now::get))
                .hasMessageContaining("llm.ops.stall-timeout");
    }
}
