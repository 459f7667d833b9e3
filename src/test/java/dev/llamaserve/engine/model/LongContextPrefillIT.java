package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A 32,768-token prompt on the tiny fixture's shape, prefilled in chunks of 512: the process's peak resident
 * memory grows by no more than the KV cache the plan gives those tokens plus 160 MiB (heap and allocator
 * noise: 8–89 MiB seen). Attention reads keys in chunks of {@link LlamaModel#ATTENTION_CHUNK_TOKENS}, so a
 * chunk's scores take 4 heads × 512 × 1,024 × 4 B = 8 MiB; a score matrix over the whole context would take
 * 4 × 512 × 32,768 × 4 B = 256 MiB, and its softmax as much again, well past the allowance. About 20 s of
 * attention arithmetic on 2 idle cores (causal 32K² is ~275 GFLOP even on this shape). Peak memory, not time, is asserted (Linux: VmHWM, reset through /proc/self/clear_refs).
 */
class LongContextPrefillIT {

    private static final int TOKENS = 32_768;
    private static final int CHUNK = 512;
    private static final long ALLOWANCE = 160L << 20;

    @Test
    void prefillOf32kTokensStaysWithinThePlan() {
        assumeTrue(ProcessMemory.available(), "needs Linux /proc/self/status for the peak resident memory");
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                new ModelOptions("cpu", "float32", TOKENS, CHUNK), LoadListener.NONE)) {
            ModelConfig c = m.config();
            long kvBytes = (long) TOKENS * m.kvCacheDtype().bytesPerToken(c);
            int[] ids = new SplittableRandom(5).ints(TOKENS, 0, c.vocabSize()).toArray();
            prefill(m, Arrays.copyOf(ids, 2 * CHUNK));                  // warm-up: allocator, JIT, profiling executor
            long before = ProcessMemory.rssBytes();
            boolean reset = ProcessMemory.resetPeak();
            long peakBefore = ProcessMemory.peakRssBytes();
            float[] last = prefill(m, ids);
            long peak = ProcessMemory.peakRssBytes();
            long growth = peak - (reset ? before : Math.max(before, peakBefore));
            System.out.printf("32K prefill (tiny shape, float32): peak RSS growth %.1f MiB; KV cache of %d tokens"
                    + " %.1f MiB + allowance %d MiB (peak reset: %s)%n", growth / 1048576.0, TOKENS,
                    kvBytes / 1048576.0, ALLOWANCE >> 20, reset);
            assertThat(last).hasSize(c.vocabSize());
            for (float x : last) {
                assertThat(Float.isFinite(x)).as("logits after 32K tokens are finite").isTrue();
            }
            assertThat(growth).as("peak RSS growth during a 32K-token prefill, bytes").isLessThanOrEqualTo(kvBytes + ALLOWANCE);
        }
    }

    /** Prefills {@code ids} from position 0 in chunks of 512; returns the last token's logits. */
    static float[] prefill(LlamaModel m, int[] ids) {
        float[] logits = null;
        for (int start = 0; start < ids.length; start += CHUNK) {
            int n = Math.min(CHUNK, ids.length - start);
            logits = m.forward(ForwardBatch.contiguous(Arrays.copyOfRange(ids, start, start + n), start, false));
        }
        return logits;
    }
}
