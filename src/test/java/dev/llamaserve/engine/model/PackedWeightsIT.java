package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import org.junit.jupiter.api.Test;

/**
 * {@code llm.model.packed-weights=true} on the tiny fixture in bfloat16: multi-row steps (two prompts prefilled
 * in one batch, then both decoded together) give the logits of the plain weights within the bf16 kernel tolerance
 * of {@link LinearModesIT}, and the same greedy tokens. On a CPU without native bf16 dot products the load is
 * refused naming the property (what such a CPU must do instead of running).
 */
class PackedWeightsIT {

    private static final int[] A = {1, 5, 9, 77, 300, 12, 41, 8};
    private static final int[] B = {1, 7, 7, 250, 3, 90, 66, 2};

    @Test
    void packedWeightsComputeTheSameBatchedStepsAsPlainOnes() {
        ModelOptions plain = new ModelOptions("cpu", "bfloat16", 256, 64);
        if (!CpuKernelSwitches.CPU_BF16_ONEDNN_SINGLE_ROW) {
            assertThatThrownBy(() -> LlamaModel.load(Checkpoint.open(TinyFixture.dir()), plain.withPackedWeights(true),
                    LoadListener.NONE)).hasMessageContaining("llm.model.packed-weights=true is not available");
            return;
        }
        float[][] want = run(plain);
        float[][] got = run(plain.withPackedWeights(true));
        int vocab = want[1].length / 2;
        for (int step = 0; step < want.length; step++) {
            double max = 0;
            for (int i = 0; i < want[step].length; i++) {
                max = Math.max(max, Math.abs(got[step][i] - want[step][i]));
            }
            assertThat(max).as("step %d: max |Δlogit| packed vs plain", step).isLessThanOrEqualTo(0.1);
            for (int row = 0; row < want[step].length / vocab; row++) {
                assertThat(LlamaModelParityIT.argmax(got[step], row * vocab)).as("step %d row %d greedy token", step, row)
                        .isEqualTo(LlamaModelParityIT.argmax(want[step], row * vocab));
            }
        }
    }

    /** Prefill A (slots 0..7) and B (slots 16..23) in one step, all logits; then decode both in one step. */
    private static float[][] run(ModelOptions options) {
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()), options, LoadListener.NONE)) {
            int n = A.length;
            int[] ids = new int[2 * n];
            int[] pos = new int[2 * n];
            int[] slots = new int[2 * n];
            int[] rows = new int[2 * n];
            int[][] ctx = {new int[n], new int[n]};
            for (int i = 0; i < n; i++) {
                ids[i] = A[i];
                ids[n + i] = B[i];
                pos[i] = i;
                pos[n + i] = i;
                slots[i] = i;
                slots[n + i] = 16 + i;
                ctx[0][i] = i;
                ctx[1][i] = 16 + i;
            }
            for (int r = 0; r < 2 * n; r++) {
                rows[r] = r;
            }
            float[] prefill = m.forward(new ForwardBatch(ids, pos, slots, new int[] {0, n}, new int[] {n, n}, ctx, rows));
            int[][] ctx2 = {java.util.Arrays.copyOf(ctx[0], n + 1), java.util.Arrays.copyOf(ctx[1], n + 1)};
            ctx2[0][n] = n;
            ctx2[1][n] = 16 + n;
            float[] decode = m.forward(new ForwardBatch(new int[] {42, 43}, new int[] {n, n}, new int[] {n, 16 + n},
                    new int[] {0, 1}, new int[] {1, 1}, ctx2, new int[] {0, 1}));
            return new float[][] {prefill, decode};
        }
    }
}
