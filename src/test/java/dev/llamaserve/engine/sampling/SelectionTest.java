package dev.llamaserve.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The linear-time selections agree with a full sort, ties included. */
class SelectionTest {

    @Test
    void topKMatchesSorting() {
        SplittableRandom r = new SplittableRandom(11);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + r.nextInt(200);
            float[] w = new float[n];
            for (int i = 0; i < n; i++) {
                w[i] = r.nextInt(trial % 2 == 0 ? 10 : 1_000_000); // many ties on even trials
            }
            int k = 1 + r.nextInt(n);
            int[] idx = IntStream.range(0, n).toArray();
            Selection.topK(idx, w, n, k);
            float[] got = new float[k];
            for (int i = 0; i < k; i++) {
                got[i] = w[idx[i]];
            }
            float[] sorted = w.clone();
            Arrays.sort(sorted);
            float[] want = new float[k];
            for (int i = 0; i < k; i++) {
                want[i] = sorted[n - 1 - i];
            }
            Arrays.sort(got);
            Arrays.sort(want);
            assertArrayEquals(want, got, "trial " + trial);
            assertArrayEquals(IntStream.range(0, n).toArray(), Arrays.stream(idx).sorted().toArray());
        }
    }

    @Test
    void nucleusMatchesSorting() {
        SplittableRandom r = new SplittableRandom(12);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + r.nextInt(300);
            float[] w = new float[n];
            double total = 0;
            for (int i = 0; i < n; i++) {
                w[i] = trial % 3 == 0 ? 1 + r.nextInt(4) : (float) Math.exp(r.nextGaussian() * 3);
                total += w[i];
            }
            double need = total * r.nextDouble();
            int[] idx = IntStream.range(0, n).toArray();
            int got = Selection.nucleus(idx, w, n, need);
            float[] sorted = w.clone();
            Arrays.sort(sorted);
            double acc = 0;
            int want = 0;
            while (want < n && (acc < need || want == 0)) {
                acc += sorted[n - 1 - want];
                want++;
            }
            assertEquals(want, got, "trial " + trial);
            float minIn = Float.MAX_VALUE;
            float maxOut = -1;
            for (int i = 0; i < n; i++) {
                if (i < got) {
                    minIn = Math.min(minIn, w[idx[i]]);
                } else {
                    maxOut = Math.max(maxOut, w[idx[i]]);
                }
            }
            assertEquals(true, minIn >= maxOut, "the nucleus holds the largest entries");
        }
    }
}
