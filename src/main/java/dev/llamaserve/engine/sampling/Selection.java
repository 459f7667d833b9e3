package dev.llamaserve.engine.sampling;

/**
 * Linear-time selection on candidate index lists ({@code idx[i]} indexes {@code w}), so that top-k and
 * top-p need no full sort of a 128k vocabulary. All orders are deterministic given the values.
 */
final class Selection {

    private Selection() {}

    /** Rearranges {@code idx[0, n)} so that its first {@code k} entries are the k largest. */
    static void topK(int[] idx, float[] w, int n, int k) {
        int lo = 0;
        int hi = n;
        while (hi - lo > 1) {
            float pivot = median3(idx, w, lo, hi);
            long ab = partition3(idx, w, lo, hi, pivot);
            int a = (int) (ab >>> 32);
            int b = (int) ab;
            if (k <= a) {
                hi = a;
            } else if (k <= b) {
                return;
            } else {
                lo = b;
            }
        }
    }

    /**
     * Rearranges {@code idx[0, n)} and returns the size of the smallest set of largest entries whose sum
     * reaches {@code need} (the nucleus of top-p); that set is {@code idx[0, result)}. At least 1.
     */
    static int nucleus(int[] idx, float[] w, int n, double need) {
        int lo = 0;
        int hi = n;
        while (lo < hi) {
            if (need <= 0) {
                break;
            }
            float pivot = median3(idx, w, lo, hi);
            long ab = partition3(idx, w, lo, hi, pivot);
            int a = (int) (ab >>> 32);
            int b = (int) ab;
            double greater = 0;
            for (int i = lo; i < a; i++) {
                greater += w[idx[i]];
            }
            if (greater >= need) {
                hi = a;
                continue;
            }
            double acc = greater;
            for (int i = a; i < b; i++) {
                acc += w[idx[i]];
                if (acc >= need) {
                    return i + 1;
                }
            }
            need -= acc;
            lo = b;
        }
        return Math.max(lo, 1);
    }

    /** 3-way partition, descending: {@code [lo,a) > pivot, [a,b) == pivot, [b,hi) < pivot}; returns a<<32|b. */
    static long partition3(int[] idx, float[] w, int lo, int hi, float pivot) {
        int lt = lo;
        int i = lo;
        int gt = hi;
        while (i < gt) {
            float v = w[idx[i]];
            if (v > pivot) {
                swap(idx, lt++, i++);
            } else if (v < pivot) {
                swap(idx, i, --gt);
            } else {
                i++;
            }
        }
        return ((long) lt << 32) | (gt & 0xffffffffL);
    }

    private static float median3(int[] idx, float[] w, int lo, int hi) {
        float x = w[idx[lo]];
        float y = w[idx[lo + (hi - lo) / 2]];
        float z = w[idx[hi - 1]];
        return Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
