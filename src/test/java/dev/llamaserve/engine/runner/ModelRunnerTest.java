package dev.llamaserve.engine.runner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.llamaserve.engine.kv.BlockManager;
import dev.llamaserve.engine.model.ForwardBatch;
import dev.llamaserve.engine.scheduler.Scheduler;
import dev.llamaserve.engine.scheduler.SchedulerConfig;
import dev.llamaserve.engine.scheduler.SchedulerOutput;
import dev.llamaserve.engine.scheduler.Sequence;
import dev.llamaserve.engine.testing.FakeCausalLm;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a scheduler step becomes a ForwardBatch: layout, positions, slots from block tables, logit rows. */
class ModelRunnerTest {

    // a runner over a fake model of 64 tokens and 32 KV slots, blocks of 4, at most 6 sequences of 4 tokens a step
    private final BlockManager kv = new BlockManager(8, 4);
    private final Scheduler s = new Scheduler(new SchedulerConfig(6, 4), kv);
    private final FakeCausalLm lm = new FakeCausalLm(64, 32, List.of(63));
    private final ModelRunner runner = new ModelRunner(lm, kv);
    private final Sequence a = new Sequence(0, "a", 0, new int[] {1, 2, 3});

    /** Sequence a's 3-token prompt as one step, which samples token 9: the step's logits. */
    private float[] promptOfA() {
        s.add(a);
        SchedulerOutput o = s.schedule();
        float[] logits = runner.execute(o).logits();
        s.complete(o);
        a.appendToken(9);
        return logits;
    }

    @Test
    void buildsOneBatchFromDecodesAndPrefillChunks() {
        assertEquals(64, promptOfA().length);
        Sequence b = new Sequence(1, "b", 1, new int[] {4, 5, 6, 7, 8, 10, 11});
        s.add(b);
        SchedulerOutput o = s.schedule(); // a decodes 1, b prefills 5 of 7
        ForwardBatch fb = runner.buildBatch(o);
        assertArrayEquals(new int[] {9, 4, 5, 6, 7, 8}, fb.tokenIds());
        assertArrayEquals(new int[] {3, 0, 1, 2, 3, 4}, fb.positions());
        assertArrayEquals(new int[] {0, 1}, fb.queryStart());
        assertArrayEquals(new int[] {1, 5}, fb.queryLen());
        assertArrayEquals(new int[] {0}, fb.logitRows(), "b's chunk leaves 2 tokens: no logits for it");
        assertArrayEquals(kv.slots(0, 4), fb.contextSlots()[0]);
        assertArrayEquals(kv.slots(1, 5), fb.contextSlots()[1]);
        assertEquals(kv.slot(0, 3), fb.slotMapping()[0]);
        for (int i = 0; i < 5; i++) {
            assertEquals(kv.slot(1, i), fb.slotMapping()[1 + i]);
        }
        ModelRunner.StepLogits l = runner.execute(o);
        assertEquals(0, l.offset(0));
        assertEquals(-1, l.offset(1));
        s.complete(o);
        a.appendToken(9);
        o = s.schedule();
        fb = runner.buildBatch(o);
        assertArrayEquals(new int[] {0, 2}, fb.logitRows(), "b's last chunk samples from its last row");
    }

    @Test
    void aStepOfAsManyLogitRowsWritesIntoThePreviousStepsArray() {
        float[] first = promptOfA();
        SchedulerOutput o = s.schedule();
        float[] expected = lm.forward(runner.buildBatch(o));   // the same step into a new array
        float[] second = runner.execute(o).logits();
        assertSame(first, second, "one row again: the first step's array");
        assertArrayEquals(expected, second);
        s.complete(o);
        a.appendToken(9);
        s.add(new Sequence(1, "b", 1, new int[] {4, 5}));
        o = s.schedule();   // a decodes, b prefills all of its prompt: two rows
        float[] third = runner.execute(o).logits();
        assertNotSame(second, third, "two rows: a new array");
        assertEquals(2 * 64, third.length);
    }

    @Test
    void rejectsABlockPoolLargerThanTheModelsKv() {
        FakeCausalLm small = new FakeCausalLm(64, 31, List.of(63));
        assertThrows(IllegalArgumentException.class, () -> new ModelRunner(small, new BlockManager(8, 4)));
    }

    /** A padded vocabulary (vocab_size 64, a tokenizer of 60): ids 60..63 have no text and are never sampled. */
    @Test
    void idsPastTheTokenizerGetMinusInfinity() {
        ModelRunner padded = new ModelRunner(lm, kv, 60);
        s.add(a);
        SchedulerOutput o = s.schedule();
        float[] expected = lm.forward(padded.buildBatch(o));
        float[] logits = padded.execute(o).logits();
        for (int id = 0; id < 64; id++) {
            assertEquals(id < 60 ? expected[id] : Float.NEGATIVE_INFINITY, logits[id], "id " + id);
        }
    }
}
