package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The tiny fixture with int8 weights in bf16 computes the same steps through llama-serve's native kernels (blocked
 * int8: {@code linear_int8} up to {@link CpuKernelSwitches#CPU_NATIVE_INT8_MAX_ROWS} rows, widened into the scratch above)
 * as through libtorch's ({@code _weight_int8pack_mm}, widening with {@code torch.to}): a 100-token prefill (mode 7;
 * on AVX2 mode 9, the widened weights through the native bf16 kernel),
 * an 8-token one and a decode step (mode 6), every row's logits, with each of this CPU's instruction sets, and
 * with AMX tiles where it has them (else that case says it is skipped). Not bit-identical (orders of summation
 * differ): within the bf16 parity tolerance and the same greedy tokens wherever the reference's lead is at least
 * 0.1 (elsewhere a token the reference puts within 0.1 of its top: bf16 logits of this random model can tie).
 */
class NativeInt8ModelIT {

    private static final int[] PROMPT = IntStream.range(0, 100).map(i -> (i * 37 + 11) % 700 + 1).toArray();

    @Test
    void nativeInt8StepsMatchLibtorchsInt8Steps() {
        float[][] libtorch = steps(null, false);
        Assumptions.assumeTrue(NativeKernels.load(), () -> "native kernels " + NativeKernels.status());
        NativeKernels.Isa[] isas = {NativeKernels.Isa.AVX512_BF16, NativeKernels.Isa.AVX512_BF16, NativeKernels.Isa.AVX2};
        for (int v = 0; v < isas.length; v++) {
            NativeKernels.Isa isa = isas[v];
            boolean amx = v == 0;
            String name = isa + (amx ? " with AMX tiles" : "");
            float[][] got = steps(isa, amx);
            if (got == null) {
                System.out.println("NativeInt8ModelIT: skipped " + name + ": this CPU lacks it");
                continue;   // the AVX2 case always runs where the kernels load
            }
            String[] what = {amx ? "100-token prefill (linear_int8 on AMX tiles)" : "100-token prefill (widened, mode 7 or 9)",
                "8-token prefill (linear_int8)", "decode step"};
            for (int i = 0; i < what.length; i++) {
                int vocab = libtorch[2].length;
                assertThat(PagedAttentionTest.maxDiff(got[i], libtorch[i])).as("%s %s: max |Δlogit|", name, what[i])
                        .isLessThanOrEqualTo(0.1);
                for (int r = 0; r < got[i].length / vocab; r++) {
                    int want = LlamaModelParityIT.argmax(libtorch[i], r * vocab);
                    int have = LlamaModelParityIT.argmax(got[i], r * vocab);
                    if (LogitRows.margin(libtorch[i], r * vocab, vocab) >= 0.1) {
                        assertThat(have).as("%s %s row %d argmax", name, what[i], r).isEqualTo(want);
                    } else {   // a near tie (bf16 logits can tie exactly): a token the reference puts at the top
                        assertThat(libtorch[i][r * vocab + have]).as("%s %s row %d: reference logit of its argmax %d",
                                name, what[i], r, have).isGreaterThanOrEqualTo(libtorch[i][r * vocab + want] - 0.1f);
                    }
                }
            }
        }
    }

    /**
     * {@code int8-lm-head} in bf16 (every linear int8) with the native kernels this CPU has: a sequence's logits are
     * the same bit for bit decoding alone or beside 3 or 31 others. Each int8 kernel adds a row up in one order
     * whatever the rows beside it; on AMX-INT8, decode steps of up to 32 rows take 16-bit activations (exact sums),
     * one row through VNNI and several through tiles, with the same outputs.
     */
    @Test
    void aSequenceGetsTheSameLogitsDecodingAloneOrAmongUpTo31Others() {
        Assumptions.assumeTrue(NativeKernels.load(), () -> "native kernels " + NativeKernels.status());
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                new ModelOptions("cpu", "bfloat16", 512, 128, Quantization.INT8_LM_HEAD), LoadListener.NONE)) {
            assertThat(m.nativeInt8()).as("int8 weights blocked for the native kernels").isTrue();
            for (int b : new int[] {4, 32}) {   // b sequences of up to 16 tokens, decoding one each
                W8a8ModelIT.assertEachSequenceAloneAsAmongOthers(m, DecodeBatches.of(b, 16, 512));
            }
        }
    }

    /**
     * [100-token prefill logits, 8-token prefill logits, decode step logits], native with {@code isa} (and AMX
     * tiles for linear_int8 where {@code amx}) or libtorch (null); null where this CPU lacks what is asked.
     */
    private static float[][] steps(NativeKernels.Isa isa, boolean amx) {
        NativeKernels.useInLoads(isa != null);
        NativeKernels.amxInLoads(amx);
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                new ModelOptions("cpu", "bfloat16", 512, 128, Quantization.INT8), LoadListener.NONE)) {
            if (isa == null) {
                assertThat(m.nativeInt8()).isFalse();
            } else {
                assertThat(m.nativeInt8()).as("int8 weights blocked for the native kernels").isTrue();
                if (!m.nativeKernelsIsa(isa) || m.int8Amx() != amx) {
                    return null;   // this CPU lacks it
                }
                // the 100-token prefill: AMX tiles take it as any step (6 or 8); else widened for a bf16 GEMM:
                // oneDNN's (7), or on AVX2, where libtorch's bf16 GEMM emulates bf16, the native one (9)
                assertThat(m.linearMode(PROMPT.length)).as("%s%s: the 100-token prefill's linear mode", isa,
                        amx ? " with AMX tiles" : "").isIn(amx ? List.of(6L, 8L)
                                : List.of(isa == NativeKernels.Isa.AVX2 ? 9L : 7L));
            }
            float[] prefill100 = m.forward(ForwardBatch.contiguous(PROMPT, 0, true));   // [100 * V]
            int[] next = IntStream.range(0, 8).map(i -> PROMPT[i * 3]).toArray();
            float[] prefill8 = m.forward(ForwardBatch.contiguous(next, PROMPT.length, true));   // [8 * V]
            float[] decode = m.forward(ForwardBatch.contiguous(new int[] {42}, PROMPT.length + 8, false));   // [V]
            return new float[][] {prefill100, prefill8, decode};
        } finally {
            NativeKernels.useInLoads(true);
            NativeKernels.amxInLoads(true);
        }
    }
}
