package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The one-row bfloat16 kernels of {@code llama_step.py}'s {@code linear} (0 as is, 2 padded to two rows, 4 oneDNN,
 * 6 the native {@code linear_bf16})
 * compute the same decode step on the tiny fixture: each within the bf16 parity tolerance of the padded default
 * (bf16 rounding differs between kernels, so not bit-identical), and the same greedy token.
 */
class LinearModesIT {

    @Test
    void everyOneRowBf16ModeGivesTheSameDecodeStep() {
        boolean oneDnn = CpuFeatures.hasNativeBf16();   // oneDNN has no bf16 linear on plain AVX2: no mode 4 there
        float[][] out = oneDnn ? decodeStepPerMode(Quantization.NONE, 2, 0, 4)   // [mode][V], padded first
                : decodeStepPerMode(Quantization.NONE, 2, 0);
        assertSameStep(out[0], out[2], "mode 0 vs padded");
        if (oneDnn) {
            assertSameStep(out[4], out[2], "mode 4 vs padded");
        }
    }

    /**
     * The native {@code linear_bf16} (mode 6: the one-row mode on AVX2-only CPUs, where oneDNN has no bf16 kernel),
     * with each instruction set this CPU has, computes the same decode step as the padded path.
     */
    @Test
    void theNativeOneRowBf16KernelGivesTheSameDecodeStep() {
        Assumptions.assumeTrue(NativeKernels.load(), () -> "native kernels " + NativeKernels.status());
        for (NativeKernels.Isa isa : new NativeKernels.Isa[] {NativeKernels.Isa.AVX512_BF16, NativeKernels.Isa.AVX2}) {
            float[][] out = decodeStepPerMode(Quantization.NONE, isa, 2, 6);
            if (out != null) {
                assertSameStep(out[6], out[2], isa + " mode 6 vs padded");
            }
        }
    }

    /**
     * Several bf16 rows through the native {@code linear_bf16} (mode 8: AVX-512's tiles, AMX tiles or AVX2's tiles),
     * with each instruction set this CPU has, give the logits of every row of an 8-token prefill that
     * {@code torch.linear} gives (on AMX tiles where the CPU has them); and a model uses it by default wherever it has
     * the native kernels (AVX2 or AVX-512 BF16), on AMX tiles where the CPU has AMX, and not on an AMX CPU with its
     * tiles off.
     */
    @Test
    void severalRowsThroughTheNativeBf16KernelGiveTheSameLogits() {
        Assumptions.assumeTrue(NativeKernels.load(), () -> "native kernels " + NativeKernels.status());
        int[] prompt = {1, 5, 9, 77, 300, 12, 41, 8};
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                new ModelOptions("cpu", "bfloat16", 256, 64, Quantization.NONE), LoadListener.NONE)) {
            assertThat(m.nativeBf16Gemm()).as("native several-row bf16 by default")
                    .isEqualTo(!m.nativeKernelsIsa(NativeKernels.Isa.AVX512_BF16)
                            || !CpuFeatures.hasAmxBf16() || m.amxTiles());
            assertThat(!m.amxTiles() || CpuFeatures.hasAmxBf16()).as("AMX tiles only where the CPU has AMX-BF16")
                    .isTrue();
            m.nativeBf16Gemm(false);
            float[] want = m.forward(ForwardBatch.contiguous(prompt, 0, true));   // [8 * V]
            int vocab = want.length / prompt.length;
            m.nativeBf16Gemm(true);
            for (NativeKernels.Isa isa : new NativeKernels.Isa[] {NativeKernels.Isa.AVX512_BF16, NativeKernels.Isa.AVX2}) {
                if (!m.nativeKernelsIsa(isa)) {
                    continue;
                }
                float[] got = m.forward(ForwardBatch.contiguous(prompt, 0, true));
                for (int r = 0; r < prompt.length; r++) {
                    assertSameStep(Arrays.copyOfRange(got, r * vocab, (r + 1) * vocab),
                            Arrays.copyOfRange(want, r * vocab, (r + 1) * vocab),
                            isa + (m.amxTiles() && isa == NativeKernels.Isa.AVX512_BF16 ? " AMX" : "") + " mode 8 row " + r);
                }
            }
        }
    }

    /**
     * With int8 layers, a bf16 {@code lm_head} (quantization {@code int8}) multiplies its one row through oneDNN (mode
     * 5) or padded (mode 3), the int8 layers through {@code _weight_int8pack_mm} either way: the same decode step.
     */
    @Test
    void aBf16LmHeadBesideInt8LayersGivesTheSameDecodeStepEitherWay() {
        Assumptions.assumeTrue(CpuFeatures.hasNativeBf16(), "oneDNN has no bf16 linear on this CPU (no avx512_bf16 or"
                + " amx_bf16): the model never takes mode 5 here");
        NativeKernels.useInLoads(false);   // libtorch's int8 kernel, which these modes choose between
        try {
            float[][] out = decodeStepPerMode(Quantization.INT8, 2, 4);   // int8 layers: modes 3 and 5
            assertSameStep(out[4], out[2], "int8 layers, lm_head oneDNN vs padded");
        } finally {
            NativeKernels.useInLoads(true);
        }
    }

    /**
     * The tiny fixture in bf16 with {@code quantization}: an 8-token prefill, then the same one-token decode step once
     * per one-row bf16 mode (0 as is, 2 padded, 4 oneDNN); the logits [V] of each, indexed by mode.
     */
    private static float[][] decodeStepPerMode(Quantization quantization, long... modes) {
        return decodeStepPerMode(quantization, null, modes);
    }

    /** As above, the native kernels with {@code isa} (null: as loaded); null where this CPU lacks {@code isa}. */
    private static float[][] decodeStepPerMode(Quantization quantization, NativeKernels.Isa isa, long... modes) {
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                new ModelOptions("cpu", "bfloat16", 256, 64, quantization), LoadListener.NONE)) {
            if (isa != null) {
                if (!m.nativeKernelsIsa(isa)) {
                    return null;
                }
            }
            int[] prompt = {1, 5, 9, 77, 300, 12, 41, 8};
            m.forward(ForwardBatch.contiguous(prompt, 0, false));
            float[][] out = new float[7][];
            for (long mode : modes) {
                m.bf16SingleRowMode(mode);
                out[(int) mode] = m.forward(ForwardBatch.contiguous(new int[] {42}, prompt.length, false));   // [V]
            }
            return out;
        }
    }

    /** Within the bf16 parity tolerance (max |Δlogit| ≤ 0.1) and the same greedy token. */
    private static void assertSameStep(float[] got, float[] want, String what) {
        double max = 0;
        for (int i = 0; i < want.length; i++) {
            max = Math.max(max, Math.abs(got[i] - want[i]));
        }
        assertThat(max).as("%s: max |Δlogit|", what).isLessThanOrEqualTo(0.1);
        assertThat(LlamaModelParityIT.argmax(got, 0)).as("%s: greedy token", what)
                .isEqualTo(LlamaModelParityIT.argmax(want, 0));
    }
}
