package dev.llamaserve.engine.model;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The int8 weight kernels libtorch 2.7.1 offers on this CPU against bf16 oneDNN, on the 1B shape's gate/up
 * (8192×2048) and down (2048×8192) matrices, at M = 1, 16, 64, 512 rows: bf16 oneDNN on the plain weight (one row,
 * the step's mode 4) or on the packed copy (several rows, {@code llm.model.packed-weights}),
 * {@code _weight_int8pack_mm} (int8 weights, bf16 activations: mode 3), int8 widened to bf16 per call with the
 * scale on the output (the step above {@code cpuInt8PackMaxRows}), and oneDNN's int8 GEMM with activations
 * quantized per call ({@code onednn::qlinear_pointwise}, uint8 with one scale for the whole input: W8A8, not used
 * by the step), and llama-serve's native kernels ({@link NativeKernels}): {@code linear_bf16} on the plain bf16
 * weight, {@code linear_int8} on the blocked int8 weight (the step's mode 6) and the blocked weight widened by
 * {@code widen_int8} into one reused scratch for oneDNN (mode 7). The weights are quantized by the step script's
 * own {@code to_int8}. Skips where the native kernels are not loaded.
 *
 * <p>Each kernel runs over 16 different matrices in turn (512 MiB of bf16), so that no weight is still in the
 * cache when it is read again: a single 8192×2048 int8 weight (16 MiB) fits the 32 MiB L3 of the Zen 4 machine, and
 * timing it alone in a loop measured the cache, not the memory (the README's first int8 kernel table did). Kernels
 * interleaved round by round; best of 3 rounds after one warm-up; ms per matrix and GB/s of the bytes each kernel's
 * weight occupies (bf16 2, int8 1 per element). Nothing is asserted.
 *
 * <p>Run: {@code ./mvnw -o -Pbench test -Dtest=Int8KernelBenchmark -Dsurefire.failIfNoSpecifiedTests=false
 * [-Dbench.m=1,16]}.
 */
@Tag("bench")
class Int8KernelBenchmark {

    private static final int COPIES = 16;
    private static final String[] NAMES = {"bf16 oneDNN", "int8 pack", "int8 widened", "int8 W8A8", "bf16 native",
        "int8 native", "int8 native widened", "bf16 torch.linear"};
    private static final double[] BYTES = {2, 1, 1, 1, 2, 1, 1, 2};

    @Test
    void kernels() {
        try (PtNDManager m = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
            // the optimizer would drop the products whose results the loops overwrite
            ai.djl.pytorch.jni.JniUtils.setGraphExecutorOptimize(false);
            PtSymbolBlock step = LlamaModel.script(m);   // first: loads the native kernels int8_kernels.py names
            org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.isa(step, -1) != NativeKernels.Isa.NONE,
                    () -> "native kernels " + NativeKernels.status());
            PtSymbolBlock k = TorchScriptArchive.load(m, "/dev/llamaserve/engine/model/int8_kernels.py", "Int8Kernels");
            try (IValue t = IValueUtils.runMethod(k, "native_threads")) {
                System.out.println("bench int8 kernels: native kernels on " + t.toLong() + " threads, "
                        + NativeKernels.isa(step, -1));
            }
            int[] ms = java.util.Arrays.stream(System.getProperty("bench.m", "1,16,64,512").split(","))
                    .mapToInt(Integer::parseInt).toArray();
            for (int[] sh : new int[][] {{8192, 2048}, {2048, 8192}}) {
                try (IValue ws = IValueUtils.runMethod(k, "weights", IValue.from((long) COPIES), IValue.from((long) sh[0]),
                        IValue.from((long) sh[1]), IValue.from(15L));
                     IValue qs = quantize(k, step, m, ws);
                     IValue packed = IValueUtils.runMethod(k, "bf16_packed", ws, IValue.from(16L));
                     IValue w8a8 = IValueUtils.runMethod(k, "onednn_w8a8", qs);
                     IValue blocked = IValueUtils.runMethod(k, "native_blocked", qs)) {
                    for (int rows : ms) {
                        measure(k, m, sh, rows, ws, rows == 1 ? ws : packed, qs, w8a8, blocked);
                    }
                }
            }
        }
    }

    /** [q0, scale0, q1, scale1, ...]: each bf16 weight through the step's own {@code to_int8}. */
    private static IValue quantize(PtSymbolBlock k, PtSymbolBlock step, PtNDManager m, IValue ws) {
        List<PtNDArray> out = new ArrayList<>();
        for (PtNDArray w : ws.toTensorArray(m)) {
            try (IValue wv = IValue.from(w);
                 IValue raw = IValueUtils.runMethod(k, "raw", wv);
                 IValue r = IValueUtils.runMethod(step, "to_int8", raw, IValue.from(15L), IValue.from(15L),
                         IValue.from("cpu"))) {
                out.addAll(List.of(r.toTensorArray(m)));
            }
        }
        return IValue.listFrom(out.toArray(PtNDArray[]::new));
    }

    private static void measure(PtSymbolBlock k, PtNDManager m, int[] sh, int rows, IValue ws, IValue bf16, IValue qs,
                                IValue w8a8, IValue blocked) {
        String[] methods = {"bf16_onednn", "int8_pack", "int8_widen", "int8_w8a8", "native_bf16", "native_int8",
            "native_widen", "bf16_plain"};
        IValue[] weights = {bf16, qs, qs, w8a8, ws, blocked, blocked, ws};
        double[] best = new double[methods.length];
        java.util.Arrays.fill(best, Double.MAX_VALUE);
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "bench int8 kernels %dx%d M=%d:", sh[0], sh[1], rows));
        try (IValue xs = IValueUtils.runMethod(k, "weights", IValue.from(1L), IValue.from((long) rows),
                IValue.from((long) sh[1]), IValue.from(15L));
             IValue x = IValue.from(xs.toTensorArray(m)[0])) {
            try (IValue e = IValueUtils.runMethod(k, "errors", x, ws, qs, w8a8)) {
                PtNDArray[] err = e.toTensorArray(m);
                line.append(String.format(Locale.ROOT, " max |y| %.4f, max error pack %.5f, W8A8 %.5f;",
                        err[0].toFloatArray()[0], err[1].toFloatArray()[0], err[2].toFloatArray()[0]));
            }
            for (int round = 0; round < 4; round++) {
                for (int i = 0; i < methods.length; i++) {
                    long t0 = System.nanoTime();
                    try (IValue y = IValueUtils.runMethod(k, methods[i], x, weights[i], IValue.from(1L))) {
                        double msPerMatrix = (System.nanoTime() - t0) / 1e6 / COPIES;
                        if (round > 0) {
                            best[i] = Math.min(best[i], msPerMatrix);
                        }
                    }
                }
            }
        }
        for (int i = 0; i < methods.length; i++) {
            line.append(String.format(Locale.ROOT, "  %s %.2f ms (%.1f GB/s)", NAMES[i], best[i],
                    (double) sh[0] * sh[1] * BYTES[i] / (best[i] / 1e3) / 1e9));
        }
        System.out.println(line);
    }
}
