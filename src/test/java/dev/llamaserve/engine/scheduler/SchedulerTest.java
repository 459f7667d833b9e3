package dev.llamaserve.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llamaserve.engine.kv.BlockManager;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pins the scheduling policies with a token budget of 5 and a pool of 3 blocks. */
class SchedulerTest {

    private long nextId;

    private Sequence seq(int promptLen) {
        int[] p = new int[promptLen];
        for (int i = 0; i < promptLen; i++) {
            p[i] = 10 + i;
        }
        long id = nextId++;
        return new Sequence(id, "r" + id, id, p);
    }

    /** Runs a step as the engine would: advance, and append a token to each sequence that sampled. */
    private static void run(Scheduler s, SchedulerOutput out) {
        s.complete(out);
        for (SchedulerOutput.Scheduled x : out.scheduled()) {
            if (x.samples()) {
                x.sequence().appendToken(7);
            }
        }
    }

    private static String plan(SchedulerOutput out) {
        StringBuilder sb = new StringBuilder();
        for (SchedulerOutput.Scheduled x : out.scheduled()) {
            sb.append(x.sequence().requestId()).append(':').append(x.start()).append('+').append(x.numTokens())
                    .append(x.samples() ? "*" : "").append(' ');
        }
        return sb.toString().trim();
    }

    @Test
    void promptIsConsumedInChunksUnderTheBudgetAndOnlyTheLastChunkSamples() {
        Scheduler s = new Scheduler(new SchedulerConfig(5, 4), new BlockManager(3, 4));
        Sequence a = seq(11);
        s.add(a);
        SchedulerOutput o1 = s.schedule();
        assertEquals("r0:0+5", plan(o1));
        assertEquals(List.of(a), o1.admitted());
        assertEquals(3, s.kv().blocksOf(a.id()), "admission takes KV for the whole prompt");
        run(s, o1);
        SchedulerOutput o2 = s.schedule();
        assertEquals("r0:5+5", plan(o2));
        assertTrue(o2.admitted().isEmpty());
        run(s, o2);
        SchedulerOutput o3 = s.schedule();
        assertEquals("r0:10+1*", plan(o3));
        run(s, o3);
        assertEquals(1, a.outputLength());
        assertEquals("r0:11+1*", plan(s.schedule()), "then one decode token per step");
    }

    @Test
    void decodesGoFirstAndAPrefillTakesTheRestOfTheBudget() {
        Scheduler s = new Scheduler(new SchedulerConfig(5, 4), new BlockManager(3, 4));
        Sequence a = seq(2);
        s.add(a);
        run(s, s.schedule()); // a: prompt done, 1 token
        Sequence b = seq(8);
        s.add(b);
        SchedulerOutput o = s.schedule();
        assertEquals("r0:2+1* r1:0+4", plan(o));
        run(s, o);
        o = s.schedule();
        assertEquals("r0:3+1* r1:4+4*", plan(o), "the running decode keeps a token every step");
    }

    @Test
    void admissionWaitsUntilTheWholePromptsKvCanBeHad() {
        Scheduler s = new Scheduler(new SchedulerConfig(5, 4), new BlockManager(3, 4));
        Sequence a = seq(9); // 3 blocks
        Sequence b = seq(2);
        s.add(a);
        s.add(b);
        SchedulerOutput o = s.schedule();
        assertEquals("r0:0+5", plan(o), "b fits the budget but not the KV: it waits");
        assertEquals(1, s.numWaiting());
        run(s, o);
        s.finish(a);
        assertEquals(0, s.kv().usedBlocks(), "finishing frees KV at once");
        o = s.schedule();
        assertEquals("r1:0+2*", plan(o), "the next request starts the next step");
    }

    @Test
    void headOfQueueIsNotOvertaken() {
        Scheduler s = new Scheduler(new SchedulerConfig(5, 4), new BlockManager(3, 4));
        Sequence a = seq(5); // 2 blocks
        Sequence b = seq(6); // 2 blocks: does not fit after a
        Sequence c = seq(1); // 1 block: would fit, but is behind b
        s.add(a);
        s.add(b);
        s.add(c);
        SchedulerOutput o = s.schedule();
        assertEquals("r0:0+5*", plan(o));
        assertEquals(2, s.numWaiting());
    }

    @Test
    void maxNumSeqsCapsRunningSequences() {
        Scheduler s = new Scheduler(new SchedulerConfig(5, 2), new BlockManager(3, 4));
        s.add(seq(1));
        s.add(seq(1));
        s.add(seq(1));
        SchedulerOutput o = s.schedule();
        assertEquals("r0:0+1* r1:0+1*", plan(o));
        assertEquals(2, s.numRunning());
        assertEquals(1, s.numWaiting());
    }

    @Test
    void youngestIsPreemptedWhenADecodeNeedsABlockAndRecomputesWithItsOutput() {
        Scheduler s = new Scheduler(new SchedulerConfig(5, 4), new BlockManager(3, 2));
        Sequence a = seq(2);
        Sequence b = seq(2);
        Sequence c = seq(1);
        s.add(a);
        s.add(b);
        s.add(c);
        SchedulerOutput o = s.schedule();
        assertEquals("r0:0+2* r1:0+2* r2:0+1*", plan(o));
        run(s, o);
        assertEquals(0, s.kv().freeBlocks());
        // a (position 2) needs a second block: none free, so c (youngest) is preempted and a takes
        // its block; then b needs one too, and b is now the youngest: b is preempted.
        o = s.schedule();
        assertEquals(List.of(c, b), o.preempted());
        assertEquals("r0:2+1*", plan(o));
        assertEquals(List.of(b, c), s.waiting(), "the older victim goes first");
        assertEquals(Sequence.Status.WAITING, c.status());
        assertEquals(0, c.numComputed(), "preempted KV is freed and recomputed later");
        assertEquals(0, s.kv().blocksOf(c.id()));
        assertEquals(2, c.numTokens(), "its generated token is kept");
    }

    @Test
    void preemptionChainEndsWithTheDecoderItselfWhenItIsYoungest() {
        Scheduler s = new Scheduler(new SchedulerConfig(5, 4), new BlockManager(3, 2));
        Sequence a = seq(2);
        Sequence b = seq(2);
        s.add(a);
        s.add(b);
        run(s, s.schedule()); // a, b hold 1 block each, 1 free
        SchedulerOutput o = s.schedule();
        // a takes the free block; b needs one, none free, b is the youngest: b preempts itself.
        assertEquals("r0:2+1*", plan(o));
        assertEquals(List.of(b), o.preempted());
        assertTrue(o.admitted().isEmpty(), "nothing is admitted in a step that preempted");
        assertEquals(List.of(b), s.waiting());
        run(s, o);
        s.finish(a);
        o = s.schedule();
        assertEquals("r1:0+3*", plan(o), "b recomputes prompt + its output, then samples");
        assertTrue(o.admitted().isEmpty(), "b was admitted before: not counted again");
    }

    @Test
    void preemptedSequenceReturnsAheadOfNewerWaitingOnes() {
        Scheduler s = new Scheduler(new SchedulerConfig(5, 4), new BlockManager(3, 2));
        Sequence a = seq(2);
        Sequence b = seq(2);
        s.add(a);
        s.add(b);
        run(s, s.schedule());
        Sequence c = seq(1);
        s.add(c);
        SchedulerOutput o = s.schedule();
        assertEquals(List.of(b), o.preempted());
        assertEquals(List.of(b, c), s.waiting());
        assertFalse(s.running().contains(b));
    }

    @Test
    void finishingAWaitingSequenceRemovesIt() {
        Scheduler s = new Scheduler(new SchedulerConfig(5, 1), new BlockManager(3, 4));
        Sequence a = seq(2);
        Sequence b = seq(2);
        s.add(a);
        s.add(b);
        run(s, s.schedule());
        assertTrue(s.finish(b));
        assertEquals(0, s.numWaiting());
        assertTrue(s.finish(a));
        assertEquals(0, s.kv().usedBlocks());
        assertFalse(s.hasWork());
    }

    @Test
    void chunksRespectTheModelsPerSequenceLimit() {
        Scheduler s = new Scheduler(new SchedulerConfig(5, 4, 3), new BlockManager(3, 4));
        Sequence a = seq(7);
        Sequence b = seq(2);
        s.add(a);
        s.add(b);
        SchedulerOutput o = s.schedule();
        assertEquals("r0:0+3 r1:0+2*", plan(o));
        run(s, o);
        assertEquals("r0:3+3 r1:2+1*", plan(s.schedule()));
    }
}
