package dev.llamaserve.engine.model;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import dev.llamaserve.engine.checkpoint.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Where a single-stream decode step's time goes, on a checkpoint ({@code -Dbench.checkpoint}, default the bench-1B
 * one the bench command writes): (1) the step's linears alone, one row through oneDNN over the model's own weights
 * in step order (q, k, v, o, gate, up, down per layer, then lm_head), against the whole step, interleaved, medians
 * of 9; (2) libtorch's profiler around 5 steps, written as a Chrome trace ({@code -Dbench.trace}, default
 * {@code target/bench/step-trace.json}) whose events are the ops the step script ran. Nothing is asserted.
 *
 * <p>Run: {@code ./mvnw -o -Pbench test -Dtest=StepProfileBenchmark -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("bench")
class StepProfileBenchmark {

    @Test
    void decodeStep() throws Exception {
        Path dir = Path.of(System.getProperty("bench.checkpoint",
                System.getProperty("user.home") + "/.cache/llama-serve/bench-1b-v1"));
        Path trace = Path.of(System.getProperty("bench.trace", "target/bench/step-trace.json"));
        Files.createDirectories(trace.toAbsolutePath().getParent());
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(dir),
                new ModelOptions("cpu", System.getProperty("bench.dtype", "bfloat16"), 4096, 512, Quantization.NONE),
                null)) {
            int[] prompt = new SplittableRandom(7).ints(128, 0, 128000).toArray();
            m.forward(ForwardBatch.contiguous(prompt, 0, false));
            for (int i = 0; i < 3; i++) {
                m.forward(ForwardBatch.contiguous(new int[] {42}, 128 + i, false));
            }
            linearsAgainstStep(m);
            int steps = 5;
            JniUtils.startProfile(false, false, false);
            for (int i = 0; i < steps; i++) {
                m.forward(ForwardBatch.contiguous(new int[] {42}, 300 + i, false));
            }
            JniUtils.stopProfile(trace.toAbsolutePath().toString());
            System.out.printf("bench profile: %d decode steps, trace %s%n", steps, trace.toAbsolutePath());
        }
    }

    private static void linearsAgainstStep(LlamaModel m) {
        JniUtils.setGraphExecutorOptimize(false);   // as the step runs (see bench_linear.py's dict_linears)
        try (PtNDManager nm = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
            PtSymbolBlock s = TorchScriptArchive.load(nm, "/dev/llamaserve/engine/model/bench_linear.py", "BenchLinear");
            List<String> names = new ArrayList<>();
            for (int l = 0; l < m.config().numHiddenLayers(); l++) {
                for (String n : Quantization.LAYER_PROJECTIONS) {
                    names.add("model.layers." + l + "." + n);
                }
            }
            names.add("lm_head.weight");
            long code = m.dtype().torchCode();
            try (IValue joined = IValue.from(String.join(",", names));
                 IValue x = IValueUtils.runMethod(s, "input", IValue.from(1L),
                         IValue.from((long) m.config().hiddenSize()), IValue.from(code));
                 IValue xi = IValueUtils.runMethod(s, "input", IValue.from(1L),
                         IValue.from((long) m.config().intermediateSize()), IValue.from(code))) {
                double[] linears = new double[9];
                double[] step = new double[9];
                for (int r = 0; r < 9; r++) {
                    long t0 = System.nanoTime();
                    IValueUtils.runMethod(s, "dict_linears", x, xi, m.weightsForBenchmarks(), joined, IValue.from(2L))
                            .close();
                    linears[r] = (System.nanoTime() - t0) / 1e6;
                    t0 = System.nanoTime();
                    m.forward(ForwardBatch.contiguous(new int[] {42}, 200 + r, false));
                    step[r] = (System.nanoTime() - t0) / 1e6;
                }
                Arrays.sort(linears);
                Arrays.sort(step);
                System.out.printf("bench decode step (1 row, context ~200): whole step median %.1f ms (min %.1f); its %d"
                                + " linears alone (oneDNN, the model's weights) median %.1f ms (min %.1f) = %.0f %% of"
                                + " the step%n", step[4], step[0], names.size(), linears[4], linears[0],
                        100 * linears[4] / step[4]);
            }
            s.close();
        }
    }
}
