package dev.llamaserve.engine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.llamaserve.engine.EngineState;
import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.kv.BlockManager;
import dev.llamaserve.engine.scheduler.Scheduler;
import dev.llamaserve.engine.scheduler.SchedulerConfig;
import dev.llamaserve.engine.scheduler.SchedulerOutput;
import dev.llamaserve.engine.scheduler.Sequence;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the engine's stats say of the scheduler's queues. */
class StatsRecorderTest {

    private static Sequence seq(long id, int promptLen) {
        int[] p = new int[promptLen];
        for (int i = 0; i < promptLen; i++) {
            p[i] = 10 + i;
        }
        return new Sequence(id, "r" + id, id, p);
    }

    /**
     * A preempted sequence waits again and counts as waiting, as vLLM counts it (the queue an autoscaler watches):
     * the gauge showed the running ones alone while most requests were stalled. Requests the engine thread has not
     * handed to the scheduler yet count on top.
     */
    @Test
    void preemptedSequencesCountAsWaiting() {
        BlockManager kv = new BlockManager(3, 2);
        Scheduler s = new Scheduler(new SchedulerConfig(5, 4), kv);
        StatsRecorder stats = new StatsRecorder(s, kv);
        Sequence a = seq(0, 2);
        Sequence b = seq(1, 2);
        Sequence c = seq(2, 1);
        for (Sequence x : List.of(a, b, c)) {
            s.add(x);
        }
        stats.publish();
        assertEquals(3, stats.stats(EngineState.READY, 0).waiting(), "none scheduled yet");
        SchedulerOutput o = s.schedule();
        run(s, o);
        stats.publish();
        EngineStats all = stats.stats(EngineState.READY, 2);
        assertEquals(3, all.running());
        assertEquals(2, all.waiting(), "two requests not yet with the scheduler");
        o = s.schedule();   // a needs a block: c, then b, are preempted
        assertEquals(List.of(c, b), o.preempted());
        run(s, o);
        stats.publish();
        EngineStats preempted = stats.stats(EngineState.READY, 0);
        assertEquals(1, preempted.running());
        assertEquals(2, preempted.waiting(), "the two preempted wait again");
    }

    private static void run(Scheduler s, SchedulerOutput out) {
        s.complete(out);
        for (SchedulerOutput.Scheduled x : out.scheduled()) {
            if (x.samples()) {
                x.sequence().appendToken(7);
            }
        }
    }
}
