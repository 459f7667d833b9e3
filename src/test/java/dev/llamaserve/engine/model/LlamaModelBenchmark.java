package dev.llamaserve.engine.model;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Speed of {@link LlamaModel} on a random bf16 checkpoint of Llama-3.2-1B's shape (hidden 2048, 16 layers,
 * 32 heads, 8 KV heads, intermediate 8192, vocab 128256, tied embeddings, llama3 RoPE scaling; 2.5 GB, written
 * into a temp dir and deleted after). Reports load time, prefill tok/s (a 128-token prompt, and a 512-token
 * chunk after 1024 cached tokens), one batch-1 decode step after the 128-token prefill (median and min of 9),
 * and one decode step of 8 sequences with 512-token contexts each, per dtype. The shared 2-core machine is
 * noisy: compare minima, and rerun.
 *
 * <p>Run: {@code ./mvnw -B -Pbench verify -Dtest=LlamaModelBenchmark -Dsurefire.failIfNoSpecifiedTests=false}
 * (dtypes: {@code -Dbench.dtypes=float32,float16,bfloat16}; threads: {@code -Dai.djl.pytorch.num_threads=1};
 * weight quantization, each dtype with each: {@code -Dbench.quantizations=none,int8}, the decode line then says
 * the weight bytes read per second by a batch-1 step;
 * an existing checkpoint instead of a fresh one: {@code -Dbench.checkpoint=~/.cache/llama-serve/bench-1b-v1}).
 * {@code -Dtest=LlamaModelBenchmark#packedWeights} compares {@code llm.model.packed-weights} with plain weights on
 * the same bf16 model, step by step.
 */
@Tag("bench")
class LlamaModelBenchmark {



    @TempDir
    Path tmp;

    /** {@code -Dbench.checkpoint} (kept), else a fresh random 1B-shape checkpoint written into the temp dir. */
    private Path checkpoint() throws IOException {
        String given = System.getProperty("bench.checkpoint");   // e.g. ~/.cache/llama-serve/bench-1b-v1 (kept)
        if (given != null) {
            return Path.of(given);
        }
        Path dir = tmp.resolve("bench-1b");
        long w0 = System.nanoTime();
        long bytes = BenchCheckpoint.write(dir);
        System.out.printf("bench: wrote %.2f GB random bf16 checkpoint in %.1f s%n", bytes / 1e9,
                (System.nanoTime() - w0) / 1e9);
        return dir;
    }

    @Test
    void llama32OneBShape() throws IOException {
        Path dir = checkpoint();
        try {
            for (String dtype : System.getProperty("bench.dtypes", "float32,float16,bfloat16").split(",")) {
                for (String q : System.getProperty("bench.quantizations", "none").split(",")) {
                    measure(dir, dtype.trim(), Quantization.parse(q));
                }
            }
        } finally {
            try (Stream<Path> files = Files.walk(tmp)) {   // the written checkpoint at once, not after the class
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /**
     * {@code llm.model.packed-weights}: one bf16 model with packed copies, each step shape run with them and without
     * ({@link LlamaModel#usePackedWeights}) alternately, 7 times each; median and min, and the ratio of the medians.
     * One row must be unchanged (it never reads the packed copy).
     */
    @Test
    void packedWeights() throws IOException {
        if (!CpuKernelSwitches.CPU_BF16_ONEDNN_SINGLE_ROW) {
            System.out.println("bench packed weights: not run, this CPU has no native bf16 (the setting is refused)");
            return;
        }
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(checkpoint()),
                new ModelOptions("cpu", "bfloat16", 16_384, 512).withPackedWeights(true), LoadListener.NONE)) {
            int[] chunk = new SplittableRandom(7).ints(512, 0, 128000).toArray();
            java.util.Map<String, Runnable> shapes = new java.util.LinkedHashMap<>();
            shapes.put("decode 1 row (ctx 128)", () -> m.forward(ForwardBatch.contiguous(new int[] {42}, 128, false)));
            shapes.put("decode 4 rows (ctx 256)", () -> m.forward(DecodeBatches.of(4, 256, 4096)));
            shapes.put("decode 16 rows (ctx 256)", () -> m.forward(DecodeBatches.of(16, 256, 4096)));
            shapes.put("decode 32 rows (ctx 256)", () -> m.forward(DecodeBatches.of(32, 256, 4096)));
            shapes.put("decode 8 rows (ctx 512)", () -> m.forward(DecodeBatches.of(8, 512, 4096)));
            shapes.put("prefill 512-chunk (after 1024)", () -> m.forward(ForwardBatch.contiguous(chunk, 1024, false)));
            for (java.util.Map.Entry<String, Runnable> e : shapes.entrySet()) {
                e.getValue().run();   // warm-up, both ways
                m.usePackedWeights(false);
                e.getValue().run();
                double[][] t = new double[2][7];
                for (int i = 0; i < 7; i++) {
                    for (int k = 0; k < 2; k++) {
                        m.usePackedWeights(k == 0);
                        t[k][i] = time(e.getValue(), 1);
                    }
                }
                Arrays.sort(t[0]);
                Arrays.sort(t[1]);
                System.out.printf(java.util.Locale.ROOT, "bench packed weights, %-30s packed %.0f ms median (min %.0f),"
                                + " plain %.0f ms median (min %.0f): plain / packed = %.2f%n", e.getKey(),
                        t[0][3] * 1e3, t[0][0] * 1e3, t[1][3] * 1e3, t[1][0] * 1e3, t[1][3] / t[0][3]);
            }
        }
    }

    private static void measure(Path dir, String dtype, Quantization quantization) {
        long t0 = System.nanoTime();
        Checkpoint ck = Checkpoint.open(dir);
        long[] weightBytes = new long[1];
        LoadListener listener = new LoadListener() {
            @Override
            public void progress(Progress p) {
            }

            @Override
            public void loaded(Summary s) {
                weightBytes[0] = s.weightBytes();
            }
        };
        try (LlamaModel m = LlamaModel.load(ck, new ModelOptions("cpu", dtype, 4096, 512, quantization), listener)) {
            double loadS = (System.nanoTime() - t0) / 1e9;
            SplittableRandom rnd = new SplittableRandom(7);
            int[] prompt = rnd.ints(128, 0, 128000).toArray();
            // warm-up: one prefill and one decode (the modes' quality on this shape: the bench's quality section)
            m.forward(ForwardBatch.contiguous(prompt, 0, false));
            m.forward(ForwardBatch.contiguous(new int[] {11}, 128, false));
            double prefill128 = time(() -> m.forward(ForwardBatch.contiguous(prompt, 0, false)), 2);
            double[] decode = new double[9];
            for (int i = 0; i < decode.length; i++) {
                int pos = 128 + i;
                decode[i] = time(() -> m.forward(ForwardBatch.contiguous(new int[] {42}, pos, false)), 1);
            }
            Arrays.sort(decode);
            int[] chunk = rnd.ints(512, 0, 128000).toArray();
            double prefill512 = time(() -> m.forward(ForwardBatch.contiguous(chunk, 1024, false)), 1);
            double decode8 = time(() -> m.forward(DecodeBatches.of(8, 1024 + 512, 4096)), 2);
            double decode16 = time(() -> m.forward(DecodeBatches.of(16, 256, 4096)), 2);
            System.out.printf("bench %-8s %-12s: load %.1f s (%.2f GB weights), prefill 128 tok %.2f s = %.1f tok/s, "
                            + "prefill 512-chunk %.1f tok/s, decode batch 1 (after 128) %.0f ms/step median (min %.0f) = %.2f tok/s"
                            + " (weights read at %.1f GB/s at the min), decode batch 8 %.0f ms/step = %.1f tok/s, "
                            + "decode batch 16 %.0f ms/step = %.1f tok/s%n",
                    dtype, quantization.optionName(), loadS, weightBytes[0] / 1e9, prefill128, 128 / prefill128,
                    512 / prefill512, decode[4] * 1e3, decode[0] * 1e3, 1 / decode[4], weightBytes[0] / 1e9 / decode[0],
                    decode8 * 1e3, 8 / decode8, decode16 * 1e3, 16 / decode16);
            if (m.dtype() == ComputeDType.BFLOAT16) {
                // with int8 layers the modes only change how a bf16 lm_head multiplies its one row (2: padded, 4: oneDNN)
                compareSingleRowModes(m, singleRowModes(m, quantization), quantization.optionName());
            }
        }
    }

    /**
     * The one-row modes to compare: 0 (without quantization), 2, 4 where oneDNN takes a bf16 row
     * ({@link CpuKernelSwitches#CPU_BF16_ONEDNN_SINGLE_ROW}: not on plain AVX2, where it refuses to make the primitive)
     * and 6 with the native kernels.
     */
    private static long[] singleRowModes(LlamaModel m, Quantization quantization) {
        return LongStream.of(0, 2, 4, 6)
                .filter(mode -> mode != 0 || quantization == Quantization.NONE)
                .filter(mode -> mode != 4 || CpuKernelSwitches.CPU_BF16_ONEDNN_SINGLE_ROW)
                .filter(mode -> mode != 6 || m.nativeIsa() != NativeKernels.Isa.NONE)
                .toArray();
    }

    /**
     * The one-row bf16 kernels of {@code linear} (0 as is, 2 padded to two rows, 4 oneDNN, 6 native) on the same decode
     * step, interleaved step by step so that a shared machine's load hits all alike; median and min of 9 each.
     */
    private static void compareSingleRowModes(LlamaModel m, long[] modes, String quantization) {
        boolean nativeRows = m.nativeBf16Gemm();
        long loaded = m.bf16SingleRowMode();
        double[][] t = new double[modes.length][9];
        for (int i = 0; i < 9; i++) {
            for (int k = 0; k < modes.length; k++) {
                m.bf16SingleRowMode(modes[k]);
                int pos = 128 + i;
                t[k][i] = time(() -> m.forward(ForwardBatch.contiguous(new int[] {42}, pos, false)), 1);
            }
        }
        StringBuilder line = new StringBuilder("bench bfloat16 (quantization " + quantization
                + ") one-row linear modes, decode step:");
        for (int k = 0; k < modes.length; k++) {
            Arrays.sort(t[k]);
            line.append(String.format(java.util.Locale.ROOT, "  mode %d %.0f ms median (min %.0f)", modes[k],
                    t[k][4] * 1e3, t[k][0] * 1e3));
        }
        System.out.println(line);
        m.bf16SingleRowMode(loaded);
        m.nativeBf16Gemm(nativeRows);
    }

    private static double time(Runnable r, int reps) {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            r.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }
}
