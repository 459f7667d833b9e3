package dev.llamaserve.engine.model;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Which CPU kernel the step's {@code linear} should use, per dtype and row count: the candidates of
 * {@code bench_linear.py} (0 {@code torch.linear}, 1 one row padded to two, 2 oneDNN {@code _linear_pointwise}
 * on the dense weight, 3 the same on a oneDNN-packed weight, 4 {@code matmul(w, xᵀ)}, 5 packed and padded)
 * on the 1B shape's matrices, interleaved round by round so that a shared machine's load hits all alike;
 * reports the best of the rounds as weight-read GB/s. Nothing is asserted.
 *
 * <p>Run: {@code ./mvnw -o -Pbench test -Dtest=LinearKernelBenchmark -Dsurefire.failIfNoSpecifiedTests=false}
 * ({@code -Dbench.dtypes=bfloat16}, {@code -Dbench.shapes=2048x2048,512x2048}: out x in, {@code -Dbench.rows=1,16}).
 */
@Tag("bench")
class LinearKernelBenchmark {

    @Test
    void linearKernels() {
        try (PtNDManager m = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
            // as the step runs: with the optimizer on, the graph executor unrolls run()'s loop and drops the products
            // whose results are overwritten, and a kernel looks several times faster than it is
            ai.djl.pytorch.jni.JniUtils.setGraphExecutorOptimize(false);
            PtSymbolBlock s = TorchScriptArchive.load(m, "/dev/llamaserve/engine/model/bench_linear.py", "BenchLinear");
            try (KernelProbe k = new KernelProbe()) {   // the bench's ceiling, to read the kernels' GB/s against
                System.out.printf(Locale.ROOT, "bench linear: read bandwidth %.1f GB/s (bench's probe)%n",
                        k.readBandwidthGbs(1L << 30, 5));
            }
            int[][] shapes = java.util.Arrays.stream(System.getProperty("bench.shapes", "8192x2048,2048x8192,128256x2048")
                    .split(",")).map(v -> java.util.Arrays.stream(v.split("x")).mapToInt(Integer::parseInt).toArray())
                    .toArray(int[][]::new);
            for (String name : System.getProperty("bench.dtypes", "bfloat16,float32,float16").split(",")) {
                ComputeDType d = ComputeDType.parse(name);
                for (int[] shape : shapes) {
                    for (int rows : java.util.Arrays.stream(System.getProperty("bench.rows", "1,16").split(","))
                            .mapToInt(Integer::parseInt).toArray()) {
                        measure(s, d, shape[0], shape[1], rows);
                    }
                }
            }
            s.close();
        }
    }

    private static void measure(PtSymbolBlock s, ComputeDType d, int out, int in, int rows) {
        int[] kinds = {0, 1, 2, 3, 4, 5, 6, 7};
        IValue[] w = new IValue[kinds.length];
        double[] best = new double[kinds.length];
        IValue x = IValueUtils.runMethod(s, "input", IValue.from((long) rows), IValue.from((long) in),
                IValue.from((long) d.torchCode()));
        int reps = Math.max(1, (int) (2e8 / ((double) out * in * d.bytes())));
        for (int k = 0; k < kinds.length; k++) {
            best[k] = Double.MAX_VALUE;
            try {
                w[k] = IValueUtils.runMethod(s, "weight", IValue.from((long) out), IValue.from((long) in),
                        IValue.from((long) d.torchCode()), IValue.from((long) kinds[k]));
            } catch (RuntimeException e) {
                System.out.println("bench linear: kind " + kinds[k] + " " + d.optionName() + " unavailable: "
                        + e.getMessage().lines().findFirst().orElse(""));
            }
        }
        for (int round = 0; round < 6; round++) {
            for (int k = 0; k < kinds.length; k++) {
                if (w[k] == null || (rows > 1 && (kinds[k] == 1 || kinds[k] >= 5))) {
                    continue;
                }
                long t0 = System.nanoTime();
                try (IValue y = IValueUtils.runMethod(s, "run", x, w[k], IValue.from((long) kinds[k]),
                        IValue.from((long) reps), IValue.from((long) out))) {
                    double sec = (System.nanoTime() - t0) / 1e9 / reps;
                    if (round > 0) {
                        best[k] = Math.min(best[k], sec);
                    }
                } catch (RuntimeException e) {
                    System.out.println("bench linear: kind " + kinds[k] + " " + d.optionName() + " failed: "
                            + e.getMessage().lines().findFirst().orElse(""));
                    w[k] = null;
                }
            }
        }
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "bench linear %-8s [%d x %d] x %2d rows:",
                d.optionName(), out, in, rows));
        for (int k = 0; k < kinds.length; k++) {
            if (best[k] != Double.MAX_VALUE) {
                line.append(String.format(Locale.ROOT, "  k%d %.2f ms (%.1f GB/s)", kinds[k], best[k] * 1e3,
                        (double) out * in * d.bytes() / best[k] / 1e9));
            }
        }
        System.out.println(line);
        for (IValue v : w) {
            if (v != null) {
                v.close();
            }
        }
        x.close();
    }
}
