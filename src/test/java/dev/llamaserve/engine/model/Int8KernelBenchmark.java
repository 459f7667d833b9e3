package dev.llamaserve.engine.model;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The int8 weight kernels libtorch 2.7.1 offers on this CPU against the bf16 {@code linear}, on one random
 * 8192×2048 and one 2048×8192 weight (Llama-3.2-1B's gate/up and down), at M = 1, 2, 4, 16, 64, 128, 256, 512
 * rows: {@code _weight_int8pack_mm} (int8 weights, bf16 activations and scales), int8 widened to bf16 for the
 * GEMM with the scale on the output, other widenings, and fbgemm's dynamic int8 {@code quantized::linear_dynamic}.
 * The weights are quantized by the step script's own {@code to_int8}. Each method loops inside TorchScript;
 * ms per call, best of 5 (the shared machine is noisy: compare within one run). The README's kernel table
 * comes from here; {@code LlamaModel.CPU_INT8_PACK_MAX_ROWS} from the crossover.
 *
 * <p>Run: {@code ./mvnw -B -Pbench test -Dtest=Int8KernelBenchmark -Dsurefire.failIfNoSpecifiedTests=false
 * [-Dbench.m=512]}.
 */
@Tag("bench")
class Int8KernelBenchmark {

    java.util.Set<String> failed = new java.util.HashSet<>();
    PtSymbolBlock k;
    PtSymbolBlock step;
    PtNDManager m;

    PtNDArray call(PtSymbolBlock mod, String name, IValue... args) {
        try (IValue r = IValueUtils.runMethod(mod, name, args)) {
            return r.toTensor(m);
        }
    }

    double time(String method, PtNDArray x, PtNDArray[] w, int n) {
        IValue[] args = new IValue[w.length + 2];
        args[0] = IValue.from(x);
        for (int i = 0; i < w.length; i++) args[1 + i] = IValue.from(w[i]);
        args[w.length + 1] = IValue.from((long) n);
        long t0 = System.nanoTime();
        try (IValue r = IValueUtils.runMethod(k, method, args)) {
            // result dropped
        } catch (RuntimeException e) {
            if (!failed.contains(method)) { failed.add(method); System.out.println(method + " failed: " + e.getMessage()); }
            return Double.NaN;
        } finally {
            for (IValue a : args) a.close();
        }
        return (System.nanoTime() - t0) / 1e6 / n;
    }

    @Test
    void kernels() {
        m = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch");
        try {
            ai.djl.pytorch.jni.JniUtils.setGraphExecutorOptimize(false);
            k = TorchScriptArchive.load(m, "/dev/llamaserve/engine/model/int8_kernels.py", "Int8Kernels");
            step = TorchScriptArchive.load(m, LlamaModel.SCRIPT, LlamaModel.SCRIPT_CLASS);
            int[][] shapes = {{8192, 2048}, {2048, 8192}};
            int[] ms = Integer.getInteger("bench.m", 0) > 0 ? new int[] {Integer.getInteger("bench.m")} : new int[] {1, 2, 4, 16, 64, 128, 256, 512};
            for (int[] sh : shapes) {
                PtNDArray wb = call(k, "rand", IValue.from((long) sh[0]), IValue.from((long) sh[1]), IValue.from(15L));
                PtNDArray[] qs;
                PtNDArray raw = call(k, "raw", IValue.from(wb));
                try (IValue r = IValueUtils.runMethod(step, "to_int8", IValue.from(raw), IValue.from(15L), IValue.from(15L),
                        IValue.from("cpu"))) {
                    qs = r.toTensorArray(m);
                }
                PtNDArray sb = qs[1];
                long p0 = System.nanoTime(); try (IValue r = IValueUtils.runMethod(k, "prepack_only", IValue.from(qs[0]), IValue.from(qs[1]))) {} System.out.printf("prepack %.1f ms%n", (System.nanoTime() - p0) / 1e6);
                for (int mm : ms) {
                    PtNDArray xb = call(k, "rand", IValue.from((long) mm), IValue.from((long) sh[1]), IValue.from(15L));
                    PtNDArray xf = call(k, "rand", IValue.from((long) mm), IValue.from((long) sh[1]), IValue.from(6L));
                    int n = mm >= 512 ? 2 : 10;
                    String[] names = {"bf16 linear", "bf16 pad2", "int8pack", "deq bf16", "convert only", "fbgemm dynamic",
                        "conv via f32", "conv by mul", "deq mul", "deq via f32"};
                    double[] best = new double[names.length];
                    java.util.Arrays.fill(best, Double.MAX_VALUE);
                    for (int rep = 0; rep < 5; rep++) {
                        double[] t = {
                            time("mm_plain", xb, new PtNDArray[] {wb}, n),
                            mm == 1 ? time("mm_pad", xb, new PtNDArray[] {wb}, n) : Double.NaN,
                            time("mm_pack", xb, new PtNDArray[] {qs[0], sb}, n),
                            time("mm_deq", xb, new PtNDArray[] {qs[0], sb}, n),
                            time("conv", xb, new PtNDArray[] {qs[0]}, n),
                            mm == 1 || mm == 512 ? time("mm_dyn", xf, new PtNDArray[] {qs[0], qs[1]}, n) : Double.NaN,
                            time("conv_f32", xb, new PtNDArray[] {qs[0]}, n),
                            time("conv_mul", xb, new PtNDArray[] {qs[0], sb}, n),
                            time("mm_deq_mul", xb, new PtNDArray[] {qs[0], sb}, n),
                            time("mm_deq_f32", xb, new PtNDArray[] {qs[0], sb}, n),
                        };
                        for (int i = 0; i < t.length; i++) best[i] = Math.min(best[i], t[i]);
                    }
                    StringBuilder sbd = new StringBuilder(String.format("W %dx%d M=%d:", sh[0], sh[1], mm));
                    for (int i = 0; i < names.length; i++) sbd.append(String.format("  %s %.2f", names[i], best[i]));
                    System.out.println(sbd);
                }
            }
        } finally {
            m.close();
        }
    }
}
