package dev.llamaserve.engine.model;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;

/**
 * What the machine can do, measured in libtorch through a small TorchScript module ({@code bench_kernels.py},
 * compiled like the step script): read bandwidth (a sum over a large tensor, best of several) and the peak of
 * a large {@code linear} in a compute dtype (the step's GEMM). The bench divides its figures by these.
 */
public final class KernelProbe implements AutoCloseable {

    private final PtNDManager manager;
    private final PtSymbolBlock module;

    public KernelProbe() {
        manager = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch");
        module = TorchScriptArchive.load(manager, "/dev/llamaserve/engine/model/bench_kernels.py", "BenchKernels");
    }

    /** Best read bandwidth in GB/s over {@code reps} sums of a {@code bytes}-byte float32 tensor. */
    public double readBandwidthGbs(long bytes, int reps) {
        long n = bytes / 4;
        try (IValue x = IValueUtils.runMethod(module, "filled", IValue.from(n), IValue.from(6L))) {
            double best = Double.MAX_VALUE;
            for (int i = 0; i < reps + 1; i++) {
                long t0 = System.nanoTime();
                try (IValue r = IValueUtils.runMethod(module, "read_all", x)) {
                    double s = (System.nanoTime() - t0) / 1e9;
                    if (i > 0) {   // the first one warms the pages and the thread pool
                        best = Math.min(best, s);
                    }
                }
            }
            return n * 4 / best / 1e9;
        }
    }

    /** Best GFLOP/s of {@code linear([m, k] x [n, k]ᵀ)} in {@code dtype}, over {@code reps} timed calls. */
    public double linearGflops(ComputeDType dtype, int m, int n, int k, int reps) {
        try (IValue a = IValueUtils.runMethod(module, "random", IValue.from((long) m), IValue.from((long) k),
                     IValue.from((long) dtype.torchCode()));
             IValue b = IValueUtils.runMethod(module, "random", IValue.from((long) n), IValue.from((long) k),
                     IValue.from((long) dtype.torchCode()))) {
            double best = Double.MAX_VALUE;
            for (int i = 0; i < reps + 1; i++) {
                long t0 = System.nanoTime();
                try (IValue r = IValueUtils.runMethod(module, "gemm", a, b)) {
                    double s = (System.nanoTime() - t0) / 1e9;
                    if (i > 0) {
                        best = Math.min(best, s);
                    }
                }
            }
            return 2.0 * m * n * k / best / 1e9;
        }
    }

    @Override
    public void close() {
        module.close();
        manager.close();
    }
}
