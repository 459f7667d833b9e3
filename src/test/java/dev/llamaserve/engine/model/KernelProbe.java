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
    /**
     * Whether the probe's tensor goes on 2 MiB pages, as the model's weights do on the CPU, so that it reads memory
     * as the step reads them: in this project's VMs a sum over 1 GiB on 4 KiB pages ran at about half the rate of
     * one on 2 MiB pages (AMD EPYC Zen 4, alternated: 27.6-34.5 against 54.0-59.9 GB/s).
     */
    private final boolean hugePages;

    public KernelProbe() {
        manager = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch");
        hugePages = NativeKernels.load() && CpuKernelSwitches.CPU_HUGE_PAGES;
        module = TorchScriptArchive.load(manager, "BenchKernels", hugePages
                ? java.util.List.of("/dev/llamaserve/engine/model/bench_kernels.py",
                        "/dev/llamaserve/engine/model/bench_kernels_huge.py")
                : java.util.List.of("/dev/llamaserve/engine/model/bench_kernels.py"));
    }

    /** Best read bandwidth in GB/s over {@code reps} sums of a {@code bytes}-byte float32 tensor. */
    public double readBandwidthGbs(long bytes, int reps) {
        try (Reader r = reader(bytes)) {
            return r.gbs(reps);
        }
    }

    /**
     * A {@code bytes}-byte float32 tensor, filled now (on 2 MiB pages where the weights are), that {@link Reader#gbs}
     * sums again at each call.
     */
    public Reader reader(long bytes) {
        return new Reader(IValueUtils.runMethod(module, hugePages ? "filled_huge" : "filled", IValue.from(bytes / 4),
                IValue.from(6L)), bytes / 4 * 4);
    }

    /** Read bandwidth over one tensor kept between calls (no fresh pages, no page faults, after the first call). */
    public final class Reader implements AutoCloseable {

        private final IValue x;
        private final long bytes;

        private Reader(IValue x, long bytes) {
            this.x = x;
            this.bytes = bytes;
        }

        /** Best GB/s over {@code reps} timed sums, after one untimed one (the pages and the thread pool warm). */
        public double gbs(int reps) {
            double best = Double.MAX_VALUE;
            for (int i = 0; i < reps + 1; i++) {
                long t0 = System.nanoTime();
                try (IValue r = IValueUtils.runMethod(module, "read_all", x)) {
                    double s = (System.nanoTime() - t0) / 1e9;
                    if (i > 0) {
                        best = Math.min(best, s);
                    }
                }
            }
            return bytes / best / 1e9;
        }

        @Override
        public void close() {
            x.close();
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
