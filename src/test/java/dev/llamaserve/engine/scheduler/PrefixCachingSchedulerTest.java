package dev.llamaserve.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llamaserve.engine.kv.BlockHasher;
import dev.llamaserve.engine.kv.BlockManager;
import org.junit.jupiter.api.Test;

/** The scheduler with prefix caching on: blocks of four tokens. */
class PrefixCachingSchedulerTest {

    private long nextId;

    private Sequence seq(int... prompt) {
        long id = nextId++;
        return new Sequence(id, "r" + id, id, prompt);
    }

    private static int[] range(int from, int len) {
        int[] p = new int[len];
        for (int i = 0; i < len; i++) {
            p[i] = from + i;
        }
        return p;
    }

    private static void run(Scheduler s, SchedulerOutput out) {
        s.complete(out);
        for (SchedulerOutput.Scheduled x : out.scheduled()) {
            if (x.samples()) {
                x.sequence().appendToken(7);
            }
        }
    }

    @Test
    void aSecondRequestWithTheSamePrefixComputesOnlyTheUncachedTokens() {
        Scheduler s = new Scheduler(new SchedulerConfig(64, 4), new BlockManager(16, 4, true, BlockHasher.DEFAULT));
        Sequence a = seq(range(100, 14));
        s.add(a);
        SchedulerOutput o = s.schedule();
        assertEquals(0, o.scheduled().get(0).start());
        assertEquals(14, o.scheduled().get(0).numTokens());
        run(s, o);
        s.finish(a);

        int[] p = range(100, 18);
        p[13] = 5; // differs from a in the fourth block
        Sequence b = seq(p);
        s.add(b);
        o = s.schedule();
        SchedulerOutput.Scheduled x = o.scheduled().get(0);
        assertEquals(12, x.start(), "three full blocks of a's prompt are cached");
        assertEquals(6, x.numTokens());
        assertTrue(x.samples());
        assertEquals(12, b.cachedPromptTokens());
    }

    @Test
    void cachedBlocksAreEvictedBeforeAnyRunningSequenceIsPreempted() {
        // 6 blocks: a leaves 3 cached blocks; b and c then decode until they need every block.
        Scheduler s = new Scheduler(new SchedulerConfig(64, 4), new BlockManager(6, 4, true, BlockHasher.DEFAULT));
        Sequence a = seq(range(100, 12));
        s.add(a);
        run(s, s.schedule());
        s.finish(a);
        assertEquals(3, s.kv().cachedBlocks());
        Sequence b = seq(range(200, 3));
        Sequence c = seq(range(300, 3));
        s.add(b);
        s.add(c);
        long preempted = 0;
        for (int step = 0; step < 9; step++) { // b and c grow to 12 tokens: 3 blocks each, the whole pool
            SchedulerOutput o = s.schedule();
            preempted += o.preempted().size();
            run(s, o);
        }
        assertEquals(0, preempted, "cached blocks made room; nothing was preempted");
        assertEquals(6, s.kv().usedBlocks());
        assertEquals(4, s.kv().cachedBlocks(), "a's blocks are all gone; b's and c's two full blocks each are cached");
    }

    @Test
    void siblingsWaitForTheLeadersPromptAndThenComputeOnlyTheirPartialBlock() {
        Scheduler s = new Scheduler(new SchedulerConfig(64, 4), new BlockManager(16, 4, true, BlockHasher.DEFAULT));
        int[] prompt = range(100, 10);
        Sequence leader = seq(prompt);
        Sequence sib1 = seq(prompt);
        Sequence sib2 = seq(prompt);
        s.add(leader);
        s.add(sib1, leader);
        s.add(sib2, leader);
        assertEquals(3, s.numWaiting());
        SchedulerOutput o = s.schedule();
        assertEquals(1, o.scheduled().size(), "only the leader prefills");
        run(s, o);
        o = s.schedule();
        assertEquals(3, o.scheduled().size());
        assertEquals(10, o.scheduled().get(0).start(), "the leader decodes");
        for (int i = 1; i < 3; i++) {
            SchedulerOutput.Scheduled x = o.scheduled().get(i);
            assertEquals(8, x.start(), "the prompt's two full blocks are shared");
            assertEquals(2, x.numTokens());
            assertTrue(x.samples());
        }
        assertEquals(8, sib1.cachedPromptTokens());
        int[] lt = s.kv().blockTable(leader.id());
        int[] st = s.kv().blockTable(sib2.id());
        assertEquals(lt[0], st[0]);
        assertEquals(lt[1], st[1]);
    }
}
