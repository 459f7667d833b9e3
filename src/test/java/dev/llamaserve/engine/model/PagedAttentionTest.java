package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code llama_step.py}'s paged attention (pages read in place, keys in chunks merged by online softmax) against
 * the gathered attention it replaced, on random data in shuffled pages: one-token and multi-token sequences in
 * one batch, GQA (8 query heads on 2 KV heads), contexts that end inside a page, slots no sequence wrote holding
 * NaN, and chunks of 1, 3 and 64 pages. And the float8 e4m3 cache against float32.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PagedAttentionTest {

    private static final int NH = 8;
    private static final int KVH = 2;
    private static final int D = 16;
    private static final int PAGE = 16;
    private static final int PAGES = 64;
    private static final int SLOTS = PAGE * PAGES;

    private AttentionKernels kernels;
    private List<AttentionKernels.Seq> seqs;
    private int tokens;

    @BeforeAll
    void setUp() {
        kernels = new AttentionKernels();
        List<Integer> free = new ArrayList<>();
        for (int p = 0; p < PAGES; p++) {
            free.add(p);
        }
        Collections.shuffle(free, new java.util.Random(3));
        int[][] shape = {{1, 1}, {37, 1}, {200, 1}, {100, 40}, {23, 23}, {16, 1}, {513, 64}};   // {context, new}
        seqs = new ArrayList<>();
        int next = 0;
        for (int[] s : shape) {
            int[] pages = new int[(s[0] + PAGE - 1) / PAGE];
            for (int i = 0; i < pages.length; i++) {
                pages[i] = free.get(next++);
            }
            seqs.add(new AttentionKernels.Seq(pages, s[0], s[1]));
            tokens += s[1];
        }
    }

    @AfterAll
    void tearDown() {
        kernels.close();
    }

    /** [SLOTS, KVH, D] random where some sequence's context lies, NaN in every other slot (never written). */
    private PtNDArray cache(SplittableRandom rnd) {
        float[] v = new float[SLOTS * KVH * D];
        java.util.Arrays.fill(v, Float.NaN);
        for (AttentionKernels.Seq s : seqs) {
            for (int p = 0; p < s.contextLen(); p++) {
                int slot = s.pages()[p / PAGE] * PAGE + p % PAGE;
                for (int i = 0; i < KVH * D; i++) {
                    v[slot * KVH * D + i] = (float) rnd.nextGaussian();
                }
            }
        }
        return (PtNDArray) kernels.manager.create(v, new Shape(SLOTS, KVH, D));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 64})
    void pagedMatchesGatheredInFloat32(int chunkPages) {
        SplittableRandom rnd = new SplittableRandom(11);
        PtNDArray k = cache(rnd);
        PtNDArray v = cache(rnd);
        PtNDArray q = kernels.random(rnd, tokens, NH, D);
        float[] want = kernels.gathered(q, k, v, seqs, PAGE).toFloatArray();
        float[] got = kernels.paged(q, k, v, k, v, seqs, PAGE, chunkPages, false);
        assertThat(got).hasSize(want.length);
        assertThat(maxDiff(got, want)).as("max |Δ| paged vs gathered, chunks of %d pages", chunkPages)
                .isLessThanOrEqualTo(2e-6);
    }

    /**
     * Tiles smaller than chunk_pages where the workspace holds fewer pages, and tensors of their own where it does
     * not hold one page of every sequence (or one call's output): the same attention.
     */
    @ParameterizedTest
    @ValueSource(strings = {"32,4096,64", "256,16384,1048576", "8192,512,1048576"})
    void tilesSizedToASmallWorkspaceGiveTheSameAttention(String sizes) {
        long[] s = java.util.Arrays.stream(sizes.split(",")).mapToLong(Long::parseLong).toArray();
        SplittableRandom rnd = new SplittableRandom(14);
        PtNDArray k = cache(rnd);
        PtNDArray v = cache(rnd);
        PtNDArray q = kernels.random(rnd, tokens, NH, D);
        float[] want = kernels.gathered(q, k, v, seqs, PAGE).toFloatArray();
        kernels.useWorkspace(new AttentionWorkspace(s[0], s[1], s[2]));
        try {
            float[] got = kernels.paged(q, k, v, k, v, seqs, PAGE, 64, false);
            assertThat(maxDiff(got, want)).as("max |Δ| paged vs gathered, workspace %s", sizes)
                    .isLessThanOrEqualTo(2e-6);
            Float8Kv f8 = float8(k, v);
            float[] small = kernels.paged(q, f8.k(), f8.v(), f8.ks(), f8.vs(), seqs, PAGE, 64, true);
            kernels.useWorkspace(AttentionKernels.LARGE);
            float[] large = kernels.paged(q, f8.k(), f8.v(), f8.ks(), f8.vs(), seqs, PAGE, 64, true);
            assertThat(maxDiff(small, large)).as("float8 cache, workspace %s vs large", sizes).isLessThanOrEqualTo(2e-6);
        } finally {
            kernels.useWorkspace(AttentionKernels.LARGE);
        }
    }

    @Test
    void pagedMatchesGatheredInBfloat16() {
        SplittableRandom rnd = new SplittableRandom(12);
        PtNDArray k = kernels.cast(cache(rnd), 15);
        PtNDArray v = kernels.cast(cache(rnd), 15);
        PtNDArray q = kernels.cast(kernels.random(rnd, tokens, NH, D), 15);
        float[] want = kernels.cast(kernels.gathered(q, k, v, seqs, PAGE), 6).toFloatArray();
        float[] got = kernels.paged(q, k, v, k, v, seqs, PAGE, 3, false);
        // both round the output to bfloat16 (8 bits of mantissa): outputs are below ~3 in magnitude
        assertThat(maxDiff(got, want)).as("max |Δ| paged vs gathered in bfloat16").isLessThanOrEqualTo(2e-2);
    }

    /** K and V written through write_kv as float8 e4m3 with per-token, per-head scales, read back upcast. */
    @Test
    void float8CacheStaysCloseToFloat32() {
        SplittableRandom rnd = new SplittableRandom(13);
        PtNDArray k = cache(rnd);
        PtNDArray v = cache(rnd);
        PtNDArray q = kernels.random(rnd, tokens, NH, D);
        Float8Kv f8 = float8(k, v);
        float[] want = kernels.gathered(q, k, v, seqs, PAGE).toFloatArray();
        float[] got = kernels.paged(q, f8.k(), f8.v(), f8.ks(), f8.vs(), seqs, PAGE, 3, true);
        double max = maxDiff(got, want);
        double mean = 0;
        for (int i = 0; i < got.length; i++) {
            mean += Math.abs(got[i] - want[i]) / got.length;
        }
        System.out.printf("float8 e4m3 KV vs float32: attention output max |Δ| %.4f, mean |Δ| %.5f%n", max, mean);
        // e4m3 keeps 3 mantissa bits: each K and V element within 1/16 relative; the output is a weighted mean of V
        assertThat(max).isLessThanOrEqualTo(0.1);
        assertThat(mean).isLessThanOrEqualTo(0.01);
    }

    /** A float8 e4m3 cache (bits) and its scales. */
    private record Float8Kv(PtNDArray k, PtNDArray v, PtNDArray ks, PtNDArray vs) {}

    /** K and V of every sequence's context written through write_kv into a float8 cache. */
    private Float8Kv float8(PtNDArray k, PtNDArray v) {
        Float8Kv f8 = new Float8Kv(kernels.newCache(SLOTS, KVH, D, 0), kernels.newCache(SLOTS, KVH, D, 0),
                kernels.newScales(SLOTS, KVH), kernels.newScales(SLOTS, KVH));
        long[] written = writtenSlots();
        PtNDArray idx = (PtNDArray) kernels.manager.create(written);
        kernels.write(f8.k(), f8.ks(), written, (PtNDArray) k.get(idx), true);
        kernels.write(f8.v(), f8.vs(), written, (PtNDArray) v.get(idx), true);
        return f8;
    }

    private long[] writtenSlots() {
        List<Long> out = new ArrayList<>();
        for (AttentionKernels.Seq s : seqs) {
            for (int p = 0; p < s.contextLen(); p++) {
                out.add((long) s.pages()[p / PAGE] * PAGE + p % PAGE);
            }
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** Largest |a[i] - b[i]|; infinite where a difference is NaN. */
    static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs(a[i] - b[i]);
            if (Double.isNaN(d)) {
                return Double.POSITIVE_INFINITY;
            }
            m = Math.max(m, d);
        }
        return m;
    }
}
