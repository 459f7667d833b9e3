package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import org.junit.jupiter.api.Test;

/**
 * {@code llm.engine.kv-cache-pre-touch}: with it the load commits the whole KV pool (the process's resident size
 * grows by about the pool's bytes), without it the pool's pages stay uncommitted until used; and a pre-touched
 * (zeroed) pool computes the same logits as an uninitialised one, whose unwritten slots attention never weighs.
 */
class KvCachePreTouchIT {

    @Test
    void preTouchCommitsThePoolAtLoadAndChangesNoLogit() {
        assumeTrue(ProcessMemory.available(), "needs /proc/self/status (Linux) to read the resident size");
        Checkpoint ck = Checkpoint.open(TinyFixture.dir());
        long perToken = KvCacheDType.FLOAT32.bytesPerToken(ck.config());
        int slots = Math.toIntExact((256L << 20) / perToken / 16 * 16);   // a 256 MiB pool in whole pages
        long pool = slots * perToken;
        int[] prompt = {1, 5, 9, 77, 300, 12, 41, 8};

        // libtorch's one-time start-up (libraries, the step script) is not the pool's: a small load first
        try (LlamaModel warm = LlamaModel.load(ck, new ModelOptions("cpu", "float32", 64, 64), LoadListener.NONE)) {
            warm.forward(ForwardBatch.contiguous(prompt, 0, true));
        }
        long[] growth = new long[2];
        float[][] logits = new float[2][];
        for (int i = 0; i < 2; i++) {
            boolean preTouch = i == 1;
            long before = ProcessMemory.anonBytes();
            try (LlamaModel m = LlamaModel.load(ck, new ModelOptions("cpu", "float32", slots, 64).withKvCachePreTouch(preTouch),
                    LoadListener.NONE)) {
                growth[i] = ProcessMemory.anonBytes() - before;
                logits[i] = m.forward(ForwardBatch.contiguous(prompt, 0, true));   // [8, V]
            }
        }
        assertThat(growth[0]).as("resident growth of a load without pre-touch, pool %d bytes", pool).isLessThan(pool / 4);
        // most of the pool: the loads' own allocations (heap, arenas) vary by a few MiB between the two loads
        assertThat(growth[1] - growth[0]).as("extra resident growth with pre-touch, pool %d bytes", pool)
                .isGreaterThan(pool * 8 / 10);
        assertThat(logits[1]).containsExactly(logits[0]);
    }
}
