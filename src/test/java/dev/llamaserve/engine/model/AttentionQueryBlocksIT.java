package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.testing.TestDevice;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A prefill chunk's queries attended in blocks (each against the keys up to its own last position) give the
 * logits of one call over the whole chunk: tiny fixture, float32, every row's logits, a chunk from position 0 and a
 * chunk after 400 tokens of context, blocks of 1,024 (one call), 512 (the default), 64 and 7 queries.
 */
class AttentionQueryBlocksIT {

    @Test
    void blocksOfQueriesGiveTheLogitsOfOneCall() {
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                new ModelOptions(TestDevice.option(), "float32", 2048, 1024), LoadListener.NONE)) {
            int[] ids = new SplittableRandom(21).ints(700, 0, m.config().vocabSize()).toArray();
            float[][] whole = run(m, ids, 1024);
            for (int block : new int[] {512, 64, 7}) {
                float[][] got = run(m, ids, block);
                for (int c = 0; c < whole.length; c++) {
                    assertThat(got[c]).hasSameSizeAs(whole[c]);
                    assertThat(PagedAttentionTest.maxDiff(got[c], whole[c]))
                            .as("chunk %d, blocks of %d queries: max |Δlogit|", c, block).isLessThanOrEqualTo(1e-5);
                }
            }
        }
    }

    /** All rows' logits of a 600-token chunk from position 0, then of a 300-token chunk after 400 tokens. */
    private static float[][] run(LlamaModel m, int[] ids, int block) {
        m.attendQueriesInBlocksOf(block);
        float[] first = m.forward(ForwardBatch.contiguous(Arrays.copyOf(ids, 600), 0, true));
        m.forward(ForwardBatch.contiguous(Arrays.copyOf(ids, 400), 0, false));
        float[] after = m.forward(ForwardBatch.contiguous(Arrays.copyOfRange(ids, 400, 700), 400, true));
        return new float[][] {first, after};
    }
}
