package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@code llm.model.quantization=w8a8} on the tiny fixture: prefill chunks and decode steps multiply through
 * {@code linear_w8a8} (rows quantized to int8 per row), close to {@code int8}'s; a sequence's logits are
 * the same bit for bit alone or among others; and where it cannot run, loading fails naming the property. The tests
 * that run the kernel skip, each saying so, on CPUs without AVX-512 BF16 (VNNI).
 */
class W8a8ModelIT {

    private static final int[] PROMPT = IntStream.range(0, 100).map(i -> (i * 37 + 11) % 700 + 1).toArray();

    @Test
    void prefillChunksAndDecodeStepsGoThroughTheInt8Kernel() {
        float[][] int8 = steps(Quantization.INT8);
        float[][] w8a8 = steps(Quantization.W8A8);
        String[] what = {"100-token prefill", "8-token prefill", "decode step"};
        for (int i = 0; i < 3; i++) {
            assertThat(w8a8[i]).as("%s through linear_w8a8, not as int8", what[i]).isNotEqualTo(int8[i]);
            // per-row int8 activations add about as much error again as the int8 weights (measured: 0.10 at most;
            // QuantizationQualityIT holds both to the float64 reference, greedy argmax included; the random fixture's
            // top logits are often closer than that, so argmax is not compared here)
            assertThat(PagedAttentionTest.maxDiff(w8a8[i], int8[i])).as("%s: max |Δlogit|", what[i])
                    .isLessThanOrEqualTo(0.25);
        }
    }

    @Test
    void aSequenceGetsTheSameLogitsAloneOrAmongOthers() {
        try (LlamaModel m = load(Quantization.W8A8_LM_HEAD, "bfloat16")) {   // every linear through linear_w8a8
            assertEachSequenceAloneAsAmongOthers(m, DecodeBatches.of(4, 32, 128));   // 4 sequences of 32 tokens
        }
    }

    /** Each sequence of decode batch {@code all} gets from {@code m} alone its logits in the batch, bit for bit. */
    static void assertEachSequenceAloneAsAmongOthers(LlamaModel m, ForwardBatch all) {
        int b = all.tokenIds().length;
        float[] together = m.forward(all);   // [b * V]
        int vocab = together.length / b;
        for (int i = 0; i < b; i++) {
            assertThat(m.forward(DecodeBatches.alone(all, i))).as("sequence %d of %d alone", i, b)
                    .isEqualTo(Arrays.copyOfRange(together, i * vocab, (i + 1) * vocab));
        }
    }

    @Test
    void loadingFailsNamingThePropertyWhereW8a8CannotRun() {
        assertThatThrownBy(() -> load(Quantization.W8A8, "float32"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("llm.model.quantization=w8a8 needs a CPU with AVX-512")
                .hasMessageContaining("the compute dtype is float32, not bfloat16")
                .hasMessageContaining("Set llm.model.quantization=int8");
        NativeKernels.useInLoads(false);
        try {
            assertThatThrownBy(() -> load(Quantization.W8A8_LM_HEAD, "bfloat16"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("llm.model.quantization=w8a8-lm-head needs")
                    .hasMessageContaining("native kernels are not in use");
        } finally {
            NativeKernels.useInLoads(true);
        }
    }

    /** [100-token prefill logits, 8-token prefill logits, decode step logits] with {@code q}. */
    private static float[][] steps(Quantization q) {
        try (LlamaModel m = load(q, "bfloat16")) {
            float[] prefill100 = m.forward(ForwardBatch.contiguous(PROMPT, 0, true));   // [100 * V]
            int[] next = IntStream.range(0, 8).map(i -> PROMPT[i * 3]).toArray();
            float[] prefill8 = m.forward(ForwardBatch.contiguous(next, PROMPT.length, true));   // [8 * V]
            float[] decode = m.forward(ForwardBatch.contiguous(new int[] {42}, PROMPT.length + 8, false));   // [V]
            return new float[][] {prefill100, prefill8, decode};
        }
    }

    private static LlamaModel load(Quantization q, String dtype) {
        return loadOrSkip(new ModelOptions("cpu", dtype, 512, 128, q));
    }

    /**
     * The tiny fixture with {@code options}; a W8A8 load that fails only because this CPU lacks AVX-512 VNNI,
     * or because the test device is a GPU (W8A8 is CPU-only), skips the calling test, saying so; every other failure
     * is thrown.
     */
    static LlamaModel loadOrSkip(ModelOptions options) {
        try {
            return LlamaModel.load(Checkpoint.open(TinyFixture.dir()), options, LoadListener.NONE);
        } catch (IllegalStateException e) {
            boolean cpuOnly = options.quantization().int8Activations() && e.getMessage() != null
                    && (e.getMessage().contains(" but not AVX-512 VNNI")
                    || !options.device().equals("cpu") && e.getMessage().contains(", not the CPU"));
            Assumptions.assumeFalse(cpuOnly, e::getMessage);
            throw e;
        }
    }
}
