package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The tiny fixture with int8 weights in bf16 computes the same steps through llama-serve's native kernels (blocked
 * int8: {@code linear_int8} up to {@link LlamaModel#CPU_NATIVE_INT8_MAX_ROWS} rows, widened into the scratch above)
 * as through libtorch's ({@code _weight_int8pack_mm}, widening with {@code torch.to}): a 100-token prefill (mode 7),
 * an 8-token one and a decode step (mode 6), every row's logits, with each of this CPU's instruction sets. Not
 * bit-identical (orders of summation differ): within the bf16 parity tolerance and the same greedy tokens.
 */
class NativeInt8ModelIT {

    private static final int[] PROMPT = IntStream.range(0, 100).map(i -> (i * 37 + 11) % 700 + 1).toArray();

    @Test
    void nativeInt8StepsMatchLibtorchsInt8Steps() {
        float[][] libtorch = steps(null);
        Assumptions.assumeTrue(NativeKernels.load(), () -> "native kernels " + NativeKernels.status());
        for (NativeKernels.Isa isa : new NativeKernels.Isa[] {NativeKernels.Isa.AVX512_BF16, NativeKernels.Isa.AVX2}) {
            float[][] got = steps(isa);
            if (got == null) {
                continue;   // an instruction set this CPU lacks (the AVX2 one always runs where the kernels load)
            }
            String[] what = {"100-token prefill (widened, mode 7)", "8-token prefill (linear_int8)", "decode step"};
            for (int i = 0; i < what.length; i++) {
                int vocab = libtorch[2].length;
                assertThat(PagedAttentionTest.maxDiff(got[i], libtorch[i])).as("%s %s: max |Δlogit|", isa, what[i])
                        .isLessThanOrEqualTo(0.1);
                for (int r = 0; r < got[i].length / vocab; r++) {
                    assertThat(LlamaModelParityIT.argmax(got[i], r * vocab)).as("%s %s row %d argmax", isa, what[i], r)
                            .isEqualTo(LlamaModelParityIT.argmax(libtorch[i], r * vocab));
                }
            }
        }
    }

    /** [100-token prefill logits, 8-token prefill logits, decode step logits], native with {@code isa} or libtorch (null). */
    private static float[][] steps(NativeKernels.Isa isa) {
        NativeKernels.useInLoads(isa != null);
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                new ModelOptions("cpu", "bfloat16", 512, 128, Quantization.INT8), LoadListener.NONE)) {
            if (isa == null) {
                assertThat(m.nativeInt8()).isFalse();
            } else {
                assertThat(m.nativeInt8()).as("int8 weights blocked for the native kernels").isTrue();
                if (!m.nativeKernelsIsa(isa)) {
                    return null;   // this CPU lacks it
                }
            }
            float[] prefill100 = m.forward(ForwardBatch.contiguous(PROMPT, 0, true));   // [100 * V]
            int[] next = IntStream.range(0, 8).map(i -> PROMPT[i * 3]).toArray();
            float[] prefill8 = m.forward(ForwardBatch.contiguous(next, PROMPT.length, true));   // [8 * V]
            float[] decode = m.forward(ForwardBatch.contiguous(new int[] {42}, PROMPT.length + 8, false));   // [V]
            return new float[][] {prefill100, prefill8, decode};
        } finally {
            NativeKernels.useInLoads(true);
        }
    }
}
