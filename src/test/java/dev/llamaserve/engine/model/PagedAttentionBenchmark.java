package dev.llamaserve.engine.model;

import ai.djl.pytorch.engine.PtNDArray;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The attention of one decode step of 8 sequences × 512 tokens of context on the bench-1B shape (32 query heads,
 * 8 KV heads, head_dim 64, 16 layers), the gathered attention this project had (per sequence: gather the
 * context, SDPA with a mask) against the paged one of {@code llama_step.py}, in the same run; best of 9 per
 * dtype, and a float8 cache. Pages of one sequence are interleaved with the others' (as a busy block pool
 * hands them out). Prints ms per step (16 layers). {@code -Dbench.seqs} and {@code -Dbench.context} change the
 * batch (default 8 × 512); {@code -Dbench.trace=FILE} also writes libtorch's profiler trace of one bfloat16 step.
 *
 * <p>Run: {@code ./mvnw -o -Pbench test -Dtest=PagedAttentionBenchmark -Dsurefire.failIfNoSpecifiedTests=false}
 */
@Tag("bench")
class PagedAttentionBenchmark {

    private static final int NH = 32;
    private static final int KVH = 8;
    private static final int D = 64;
    private static final int LAYERS = 16;
    private static final int PAGE = 16;

    @Test
    void decodeEightSequencesOf512() {
        int seqs = Integer.getInteger("bench.seqs", 8);
        int ctx = Integer.getInteger("bench.context", 512);
        int pagesEach = ctx / PAGE;
        int slots = seqs * pagesEach * PAGE;
        List<AttentionKernels.Seq> batch = new ArrayList<>();
        for (int s = 0; s < seqs; s++) {
            int[] pages = new int[pagesEach];
            for (int p = 0; p < pagesEach; p++) {
                pages[p] = p * seqs + s;                                // interleaved
            }
            batch.add(new AttentionKernels.Seq(pages, ctx, 1));
        }
        try (AttentionKernels k = new AttentionKernels()) {
            SplittableRandom rnd = new SplittableRandom(1);
            PtNDArray k32 = k.random(rnd, slots, KVH, D);
            PtNDArray v32 = k.random(rnd, slots, KVH, D);
            PtNDArray q32 = k.random(rnd, seqs, NH, D);
            for (int code : new int[] {15, 6}) {
                PtNDArray kc = k.cast(k32, code);
                PtNDArray vc = k.cast(v32, code);
                PtNDArray q = k.cast(q32, code);
                double before = best(() -> k.gathered(q, kc, vc, batch, PAGE).close());
                double after = best(() -> k.paged(q, kc, vc, kc, vc, batch, PAGE, 64, false));
                System.out.printf("bench attention %s, %d seqs x %d context, %d layers: gathered %.1f ms, paged %.1f ms"
                        + " (%.2fx)%n", code == 15 ? "bfloat16" : "float32", seqs, ctx, LAYERS, before, after, before / after);
                String trace = System.getProperty("bench.trace");
                if (trace != null && code == 15) {
                    ai.djl.pytorch.jni.JniUtils.startProfile(false, false, false);
                    for (int l = 0; l < LAYERS; l++) {
                        k.paged(q, kc, vc, kc, vc, batch, PAGE, 64, false);
                    }
                    ai.djl.pytorch.jni.JniUtils.stopProfile(trace);
                }
            }
            PtNDArray k8 = k.newCache(slots, KVH, D, 0);
            PtNDArray v8 = k.newCache(slots, KVH, D, 0);
            PtNDArray ks = k.newScales(slots, KVH);
            PtNDArray vs = k.newScales(slots, KVH);
            long[] all = new long[slots];
            java.util.Arrays.setAll(all, i -> i);
            k.write(k8, ks, all, k32, true);
            k.write(v8, vs, all, v32, true);
            PtNDArray q = k.cast(q32, 15);
            double fp8 = best(() -> k.paged(q, k8, v8, ks, vs, batch, PAGE, 64, true));
            System.out.printf("bench attention float8_e4m3 cache (bfloat16 queries): paged %.1f ms%n", fp8);
        }
    }

    /** Best of 9 runs of 16 calls (one per layer), in ms; one warm-up run. */
    private static double best(Runnable layer) {
        double best = Double.MAX_VALUE;
        for (int r = 0; r < 10; r++) {
            long t0 = System.nanoTime();
            for (int l = 0; l < LAYERS; l++) {
                layer.run();
            }
            if (r > 0) {
                best = Math.min(best, (System.nanoTime() - t0) / 1e6);
            }
        }
        return best;
    }
}
