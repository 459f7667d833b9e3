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
import java.util.function.IntFunction;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Where a step's time goes, on a checkpoint ({@code -Dbench.checkpoint}, default the bench-1B one the bench command
 * writes). A one-row decode step ({@code -Dbench.rows=1}, the default): (1) the step's linears alone, one row
 * through the kernel the step uses (llama-serve's native {@code linear_bf16} where the model runs it, else oneDNN)
 * over the model's own weights in step order (q, k, v, o, gate, up, down per layer, then lm_head),
 * against the whole step, interleaved, medians of 9. Several rows ({@code -Dbench.rows=16}): that many sequences
 * of {@code -Dbench.context} tokens (default 256) decoding together, {@code -Dbench.packed=true} with
 * {@code llm.model.packed-weights}. {@code -Dbench.prefill=512}: a prefill chunk of that many tokens after
 * {@code -Dbench.context} tokens instead. {@code -Dbench.quantization=int8} (any {@code llm.model.quantization}
 * value) loads the weights so. {@code -Dbench.unfused=true} runs each layer's ops as calls of their own instead of one
 * {@code decoder_layer} call, so that the trace times each (e.g. {@code llamaserve::decode_attention}); {@code
 * -Dbench.pretouch=true} zero-fills the KV pool at load ({@code llm.engine.kv-cache-pre-touch}): several-row decode
 * steps read a context that no prefill wrote, and over an untouched pool those reads all hit the one zero page. Then
 * (2) five timed steps, each with the minor page faults it made (a fresh tensor's every 4 KiB page faults on first
 * write), and (3) libtorch's profiler around 5 steps (one prefill
 * chunk), written as a Chrome trace ({@code -Dbench.trace}, default {@code target/bench/step-trace.json}) whose
 * events are the ops the step script ran. Nothing is asserted.
 *
 * <p>Run: {@code ./mvnw -o -Pbench test -Dtest=StepProfileBenchmark -Dsurefire.failIfNoSpecifiedTests=false}
 * (then e.g. {@code -Dbench.rows=16 -Dbench.context=1024}).
 */
@Tag("bench")
class StepProfileBenchmark {

    @Test
    void decodeStep() throws Exception {
        Path dir = Path.of(System.getProperty("bench.checkpoint",
                System.getProperty("user.home") + "/.cache/llama-serve/bench-1b-v1"));
        Path trace = Path.of(System.getProperty("bench.trace", "target/bench/step-trace.json"));
        Files.createDirectories(trace.toAbsolutePath().getParent());
        int rows = Integer.getInteger("bench.rows", 1);
        int context = Integer.getInteger("bench.context", 256);
        int prefill = Integer.getInteger("bench.prefill", 0);
        boolean packed = Boolean.getBoolean("bench.packed");
        boolean unfused = Boolean.getBoolean("bench.unfused");
        int slots = Math.max(4096, Math.max(rows, 1) * context + prefill);
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(dir),
                new ModelOptions("cpu", System.getProperty("bench.dtype", "bfloat16"), slots, 512, KvCacheDType.AUTO,
                        ModelOptions.DEFAULT_KV_BLOCK_SIZE, Quantization.parse(System.getProperty("bench.quantization",
                                "none")), packed, Boolean.getBoolean("bench.pretouch")),
                null)) {
            if (unfused) {
                m.fusedLayers(false);   // each op of a layer its own call, so that the trace times each
            }
            int[] prompt = new SplittableRandom(7).ints(128, 0, 128000).toArray();
            m.forward(ForwardBatch.contiguous(prompt, 0, false));
            for (int i = 0; i < 3; i++) {
                m.forward(ForwardBatch.contiguous(new int[] {42}, 128 + i, false));
            }
            String what;
            IntFunction<ForwardBatch> step;
            if (prefill > 0) {
                int[] ctx = new SplittableRandom(8).ints(context, 0, 128000).toArray();
                long t0 = System.nanoTime();
                LongContextPrefillIT.prefill(m, ctx);
                System.out.printf("bench the %d tokens of context in chunks of 512: %.1f ms%n", context,
                        (System.nanoTime() - t0) / 1e6);
                int[] chunk = new SplittableRandom(9).ints(prefill, 0, 128000).toArray();
                what = "prefill chunk of " + prefill + " tokens after " + context;
                step = i -> ForwardBatch.contiguous(chunk, context, false);
            } else if (rows == 1) {
                if (m.quantization() == Quantization.NONE) {
                    linearsAgainstStep(m);   // these linears read bf16 weights: not those of a quantized model
                }
                what = "decode step of 1 row";
                step = i -> ForwardBatch.contiguous(new int[] {42}, 300 + i, false);
            } else {
                what = "decode step of " + rows + " rows x " + context + " tokens of context";
                step = i -> DecodeBatches.of(rows, context, slots);
                m.forward(step.apply(0));
            }
            what += packed ? " (packed weights)" : "";
            what += unfused ? " (layers unfused)" : "";
            int steps = Integer.getInteger("bench.steps", 5);
            float[] logits = null;   // reused from step to step, as ModelRunner does (a new [R, V] array costs ms)
            for (int i = 0; i < steps; i++) {
                long f0 = ProcessMemory.minorFaults();
                long t0 = System.nanoTime();
                logits = m.forward(step.apply(i), logits);
                System.out.printf("bench %s: %.1f ms, %d minor page faults%n", what, (System.nanoTime() - t0) / 1e6,
                        ProcessMemory.minorFaults() - f0);
            }
            int profiled = prefill > 0 ? 1 : 5;
            JniUtils.startProfile(false, false, false);
            for (int i = 0; i < profiled; i++) {
                logits = m.forward(step.apply(i), logits);
            }
            JniUtils.stopProfile(trace.toAbsolutePath().toString());
            System.out.printf("bench profile: %d x %s, trace %s%n", profiled, what, trace.toAbsolutePath());
        }
    }

    private static void linearsAgainstStep(LlamaModel m) {
        JniUtils.setGraphExecutorOptimize(false);   // as the step runs (see bench_linear.py's dict_linears)
        try (PtNDManager nm = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
            PtSymbolBlock s = TorchScriptArchive.load(nm, "/dev/llamaserve/engine/model/bench_linear.py", "BenchLinear");
            // the linears the step runs: the native kernel where the model uses it, oneDNN's where it takes one bf16
            // row (mode 4), else torch.linear (float16 and float32: oneDNN refuses float16 on AVX2 CPUs)
            boolean nativeLinears = m.nativeSingleRow();
            boolean oneDnnLinears = m.linearMode(1) == 4;
            PtSymbolBlock linearScript = nativeLinears ? TorchScriptArchive.load(nm,
                    "/dev/llamaserve/engine/model/bench_native_linear.py", "BenchNativeLinear") : s;
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
                         IValue.from((long) m.config().intermediateSize()), IValue.from(code));
                 IValue kind = IValue.from(oneDnnLinears ? 2L : 0L)) {   // bench_linear.py's kind 2, or torch.linear
                double[] linears = new double[9];
                float[] logits = null;   // reused, as in decodeStep
                double[] step = new double[9];
                IValue w = m.weightsForBenchmarks();   // the model's: not closed here
                for (int r = 0; r < 9; r++) {
                    long t0 = System.nanoTime();
                    (nativeLinears ? IValueUtils.runMethod(linearScript, "dict_linears", x, xi, w, joined)
                            : IValueUtils.runMethod(s, "dict_linears", x, xi, w, joined, kind)).close();
                    linears[r] = (System.nanoTime() - t0) / 1e6;
                    t0 = System.nanoTime();
                    logits = m.forward(ForwardBatch.contiguous(new int[] {42}, 200 + r, false), logits);
                    step[r] = (System.nanoTime() - t0) / 1e6;
                }
                Arrays.sort(linears);
                Arrays.sort(step);
                System.out.printf("bench decode step (1 row, context ~200): whole step median %.1f ms (min %.1f); its %d"
                                + " linears alone (%s, the model's weights) median %.1f ms (min %.1f) = %.0f %% of"
                                + " the step%n", step[4], step[0], names.size(),
                        nativeLinears ? "native linear_bf16" : oneDnnLinears ? "oneDNN" : "torch.linear", linears[4],
                        linears[0],
                        100 * linears[4] / step[4]);
            }
            if (linearScript != s) {
                linearScript.close();
            }
            s.close();
        }
    }
}
