package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import org.junit.jupiter.api.Test;

/**
 * The one-row bfloat16 kernels of {@code llama_step.py}'s {@code linear} (0 as is, 2 padded to two rows, 3 oneDNN)
 * compute the same decode step on the tiny fixture: each within the bf16 parity tolerance of the padded default
 * (bf16 rounding differs between kernels, so not bit-identical), and the same greedy token.
 */
class LinearModesIT {

    @Test
    void everyOneRowBf16ModeGivesTheSameDecodeStep() {
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                new ModelOptions("cpu", "bfloat16", 256, 64), LoadListener.NONE)) {
            int[] prompt = {1, 5, 9, 77, 300, 12, 41, 8};
            m.forward(ForwardBatch.contiguous(prompt, 0, false));
            float[][] out = new float[5][];
            for (long mode : new long[] {2, 0, 4}) {
                m.bf16SingleRowMode(mode);
                out[(int) mode] = m.forward(ForwardBatch.contiguous(new int[] {42}, prompt.length, false));   // [V]
            }
            for (int mode : new int[] {0, 4}) {
                double max = 0;
                for (int i = 0; i < out[2].length; i++) {
                    max = Math.max(max, Math.abs(out[mode][i] - out[2][i]));
                }
                assertThat(max).as("mode %d vs padded: max |Δlogit|", mode).isLessThanOrEqualTo(0.1);
                assertThat(argmax(out[mode])).as("mode %d greedy token", mode).isEqualTo(argmax(out[2]));
            }
        }
    }

    /**
     * With int8 layers, a bf16 {@code lm_head} (quantization {@code int8}) multiplies its one row through oneDNN (mode
     * 5) or padded (mode 3), the int8 layers through {@code _weight_int8pack_mm} either way: the same decode step.
     */
    @Test
    void aBf16LmHeadBesideInt8LayersGivesTheSameDecodeStepEitherWay() {
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                new ModelOptions("cpu", "bfloat16", 256, 64, Quantization.INT8), LoadListener.NONE)) {
            int[] prompt = {1, 5, 9, 77, 300, 12, 41, 8};
            m.forward(ForwardBatch.contiguous(prompt, 0, false));
            m.bf16SingleRowMode(2);   // int8 layers: mode 3
            float[] padded = m.forward(ForwardBatch.contiguous(new int[] {42}, prompt.length, false));   // [V]
            m.bf16SingleRowMode(4);   // int8 layers: mode 5
            float[] oneDnn = m.forward(ForwardBatch.contiguous(new int[] {42}, prompt.length, false));   // [V]
            double max = 0;
            for (int i = 0; i < padded.length; i++) {
                max = Math.max(max, Math.abs(oneDnn[i] - padded[i]));
            }
            assertThat(max).as("int8 layers, lm_head oneDNN vs padded: max |Δlogit|").isLessThanOrEqualTo(0.1);
            assertThat(argmax(oneDnn)).isEqualTo(argmax(padded));
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
