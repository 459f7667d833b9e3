package dev.llamaserve.engine.grammar;

import java.util.Arrays;

/**
 * Sets of Unicode code points as sorted, disjoint, non-adjacent inclusive ranges
 * {@code [lo0, hi0, lo1, hi1, ...]}. Surrogates (U+D800–U+DFFF) are never produced by the matcher: a
 * JSON string cannot carry a lone surrogate as valid UTF-8, and {@code \\u} escapes of surrogates are
 * not generated.
 */
final class CodePoints {

    static final int MAX = 0x10FFFF;
    static final int[] ALL = {0, MAX};
    static final int[] SURROGATES = {0xD800, 0xDFFF};
    /** Every encodable code point. */
    static final int[] ANY = minus(ALL, SURROGATES);

    private CodePoints() {}

    static int[] of(int... pairs) {
        return normalize(pairs.clone(), pairs.length);
    }

    /** Sorts and merges {@code n} ints of (lo, hi) pairs. */
    static int[] normalize(int[] pairs, int n) {
        long[] packed = new long[n / 2];
        for (int i = 0; i < n / 2; i++) {
            packed[i] = ((long) pairs[2 * i] << 32) | (pairs[2 * i + 1] & 0xffffffffL);
        }
        Arrays.sort(packed);
        int[] out = new int[n];
        int m = 0;
        for (long p : packed) {
            int lo = (int) (p >>> 32);
            int hi = (int) p;
            if (lo > hi) {
                continue;
            }
            if (m > 0 && lo <= out[m - 1] + 1) {
                out[m - 1] = Math.max(out[m - 1], hi);
            } else {
                out[m++] = lo;
                out[m++] = hi;
            }
        }
        return Arrays.copyOf(out, m);
    }

    static int[] union(int[] a, int[] b) {
        int[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return normalize(all, all.length);
    }

    static int[] complement(int[] a) {
        int[] out = new int[a.length + 2];
        int m = 0;
        int next = 0;
        for (int i = 0; i < a.length; i += 2) {
            if (a[i] > next) {
                out[m++] = next;
                out[m++] = a[i] - 1;
            }
            next = a[i + 1] + 1;
        }
        if (next <= MAX) {
            out[m++] = next;
            out[m++] = MAX;
        }
        return Arrays.copyOf(out, m);
    }

    static int[] minus(int[] a, int[] b) {
        return intersect(a, complement(b));
    }

    static int[] intersect(int[] a, int[] b) {
        int[] out = new int[a.length + b.length];
        int m = 0;
        int i = 0;
        int j = 0;
        while (i < a.length && j < b.length) {
            int lo = Math.max(a[i], b[j]);
            int hi = Math.min(a[i + 1], b[j + 1]);
            if (lo <= hi) {
                out[m++] = lo;
                out[m++] = hi;
            }
            if (a[i + 1] < b[j + 1]) {
                i += 2;
            } else {
                j += 2;
            }
        }
        return Arrays.copyOf(out, m);
    }

    static boolean contains(int[] a, int cp) {
        for (int i = 0; i < a.length; i += 2) {
            if (cp >= a[i] && cp <= a[i + 1]) {
                return true;
            }
        }
        return false;
    }
}
