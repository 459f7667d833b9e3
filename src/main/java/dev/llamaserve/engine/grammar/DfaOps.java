package dev.llamaserve.engine.grammar;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/** Building {@link Dfa}s for string constraints: length bounds, and the product of two automata. */
final class DfaOps {

    private DfaOps() {}

    /** Strings of {@code min} to {@code max} code points ({@code max} -1: unbounded). */
    static Dfa lengths(int min, int max, String pointer) {
        Dfa.Builder b = new Dfa.Builder(pointer);
        int last = max >= 0 ? max : min;
        for (int i = 0; i <= last; i++) {
            b.add(i >= min, -1);
        }
        int[] any = CodePoints.ANY;
        for (int i = 0; i <= last; i++) {
            int target = i < last ? i + 1 : (max < 0 ? last : -1);
            if (target < 0) {
                continue;
            }
            int[] t = new int[any.length / 2 * 3];
            for (int k = 0, j = 0; k < any.length; k += 2) {
                t[j++] = any[k];
                t[j++] = any[k + 1];
                t[j++] = target;
            }
            b.set(i, t, t.length);
        }
        return b.build();
    }

    /** The product automaton: strings both accept (tags taken from {@code a}, else {@code b}). */
    static Dfa intersect(Dfa a, Dfa c, String pointer) {
        Dfa.Builder b = new Dfa.Builder(pointer);
        Map<Long, Integer> ids = new HashMap<>();
        ArrayDeque<long[]> queue = new ArrayDeque<>();
        ids.put(0L, b.add(a.accept[0] && c.accept[0], a.tag[0] >= 0 ? a.tag[0] : c.tag[0]));
        queue.add(new long[] {0, 0});
        while (!queue.isEmpty()) {
            long[] pq = queue.poll();
            int p = (int) pq[0];
            int q = (int) pq[1];
            int id = ids.get((pq[0] << 32) | pq[1]);
            int[] triples = new int[(a.lo[p].length + c.lo[q].length) * 3];
            int n = 0;
            int i = 0;
            int j = 0;
            while (i < a.lo[p].length && j < c.lo[q].length) {
                int x = Math.max(a.lo[p][i], c.lo[q][j]);
                int y = Math.min(a.hi[p][i], c.hi[q][j]);
                if (x <= y) {
                    int ta = a.to[p][i];
                    int tc = c.to[q][j];
                    long k = ((long) ta << 32) | tc;
                    Integer t = ids.get(k);
                    if (t == null) {
                        t = b.add(a.accept[ta] && c.accept[tc], a.tag[ta] >= 0 ? a.tag[ta] : c.tag[tc]);
                        ids.put(k, t);
                        queue.add(new long[] {ta, tc});
                    }
                    triples[n++] = x;
                    triples[n++] = y;
                    triples[n++] = t;
                }
                if (a.hi[p][i] < c.hi[q][j]) {
                    i++;
                } else {
                    j++;
                }
            }
            b.set(id, triples, n);
        }
        return b.build();
    }

}
