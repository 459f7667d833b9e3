package dev.llamaserve.engine.grammar;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Deterministic automaton over code points: state 0 is the start, each state has sorted disjoint
 * range transitions; an optional integer tag per accepting state (which object key was read). After
 * {@link #trim()} every state can reach an accepting state, so a matcher on it is never stuck.
 * Immutable after construction.
 */
final class Dfa {

    static final int MAX_STATES = 200_000;

    final int[][] lo;
    final int[][] hi;
    final int[][] to;
    final boolean[] accept;
    final int[] tag;
    /** The keyword it was built for: where {@link #trim()} charges its copy. */
    private final String pointer;
    /** ASCII transitions as a table per state (automata up to {@link #ASCII_TABLE_STATES} states). */
    private final int[][] ascii;
    private static final int ASCII_TABLE_STATES = 8192;
    /** Automata above this size are not reduced for mask caching (the reduction costs a pass per round). */
    private static final int REDUCE_STATES = 20_000;
    private final Map<Integer, int[]> representatives = new HashMap<>();

    private Dfa(List<int[]> transitions, List<Boolean> accept, List<Integer> tag, String pointer) {
        this.pointer = pointer;
        int n = transitions.size();
        lo = new int[n][];
        hi = new int[n][];
        to = new int[n][];
        this.accept = new boolean[n];
        this.tag = new int[n];
        for (int s = 0; s < n; s++) {
            int[] t = transitions.get(s);
            int k = t.length / 3;
            lo[s] = new int[k];
            hi[s] = new int[k];
            to[s] = new int[k];
            for (int i = 0; i < k; i++) {
                lo[s][i] = t[3 * i];
                hi[s][i] = t[3 * i + 1];
                to[s][i] = t[3 * i + 2];
            }
            this.accept[s] = accept.get(s);
            this.tag[s] = tag.get(s);
        }
        ascii = n <= ASCII_TABLE_STATES ? new int[n][] : null;
        for (int s = 0; ascii != null && s < n; s++) {
            ascii[s] = new int[128];
            for (int c = 0; c < 128; c++) {
                ascii[s][c] = search(s, c);
            }
        }
    }

    int size() {
        return accept.length;
    }

    /** The state after {@code cp}, or -1. */
    int next(int s, int cp) {
        return cp < 128 && ascii != null ? ascii[s][cp] : search(s, cp);
    }

    private int search(int s, int cp) {
        int[] l = lo[s];
        int a = 0;
        int b = l.length - 1;
        while (a <= b) {
            int m = (a + b) >>> 1;
            if (cp < l[m]) {
                b = m - 1;
            } else if (cp > hi[s][m]) {
                a = m + 1;
            } else {
                return to[s][m];
            }
        }
        return -1;
    }

    /** True when some code point in {@code [a, b]} has a transition from {@code s}. */
    boolean anyIn(int s, int a, int b) {
        int[] h = hi[s];
        int x = 0;
        int y = h.length;
        while (x < y) { // first range whose hi >= a
            int m = (x + y) >>> 1;
            if (h[m] < a) {
                x = m + 1;
            } else {
                y = m;
            }
        }
        return x < h.length && lo[s][x] <= b;
    }

    /**
     * For each state, the least state that behaves the same on every string of at most {@code horizon}
     * code points (same transitions defined, same acceptance, same tags): Moore's partition refinement
     * stopped after {@code horizon} rounds. A token of at most {@code horizon} bytes is accepted from
     * both or from neither, so such states share a mask (a length counter far from its bound does).
     */
    synchronized int[] representatives(int horizon) {
        return representatives.computeIfAbsent(horizon, this::reduce);
    }

    private int[] reduce(int horizon) {
        int n = size();
        int[] block = new int[n];
        if (n > REDUCE_STATES) {
            for (int s = 0; s < n; s++) {
                block[s] = s;
            }
            return block;
        }
        Map<List<Integer>, Integer> ids = new HashMap<>();
        for (int s = 0; s < n; s++) {
            block[s] = ids.computeIfAbsent(List.of(accept[s] ? 1 : 0, tag[s]), k -> ids.size());
        }
        int blocks = ids.size();
        for (int round = 0; round < horizon; round++) {
            Map<List<Integer>, Integer> sig = new HashMap<>();
            int[] next = new int[n];
            for (int s = 0; s < n; s++) {
                List<Integer> key = new ArrayList<>();
                key.add(block[s]);
                for (int i = 0; i < lo[s].length; i++) {
                    int b = block[to[s][i]];
                    int k = key.size();
                    if (k > 1 && key.get(k - 1) == b && key.get(k - 2) + 1 == lo[s][i]) {
                        key.set(k - 2, hi[s][i]); // adjacent range into the same block: one range
                    } else {
                        key.add(lo[s][i]);
                        key.add(hi[s][i]);
                        key.add(b);
                    }
                }
                next[s] = sig.computeIfAbsent(key, k -> sig.size());
            }
            if (sig.size() == blocks) {
                break; // stable: the partition is final
            }
            block = next;
            blocks = sig.size();
        }
        int[] first = new int[blocks];
        Arrays.fill(first, -1);
        int[] rep = new int[n];
        for (int s = 0; s < n; s++) {
            if (first[block[s]] < 0) {
                first[block[s]] = s;
            }
            rep[s] = first[block[s]];
        }
        return rep;
    }

    /**
     * What the current thread's compilation may still build ({@link #withinBudget}), or null: no bound. It is
     * counted in automaton states plus transition ranges (NFA ranges included), since a state of a class of
     * thousands of characters holds thousands of ranges: the work and memory of an automaton follow both.
     */
    private static final ThreadLocal<long[]> BUDGET = new ThreadLocal<>();

    /**
     * Runs {@code compile} with at most {@code size} automaton states and transition ranges built on this thread
     * (all its automata together; a nested call shares the outer budget): beyond it, the schema is refused.
     * Returns the result and how much of the budget it used (of the outer one, where nested).
     */
    static <T> Budgeted<T> withinBudget(long size, java.util.function.Supplier<T> compile) {
        long[] outer = BUDGET.get();
        long[] budget = outer != null ? outer : new long[] {size};
        long before = budget[0];
        BUDGET.set(budget);
        try {
            return new Budgeted<>(compile.get(), before - budget[0]);
        } finally {
            if (outer == null) {
                BUDGET.remove();
            }
        }
    }

    /** A result of {@link #withinBudget} and the states plus ranges it built. */
    record Budgeted<T>(T value, long used) {}

    /** The current thread's budget ({@link #withinBudget}), or null; read once per automaton. */
    static long[] budget() {
        return BUDGET.get();
    }

    /** Takes {@code size} states or ranges out of {@code budget} (null: no bound); beyond it, the schema is refused. */
    static void charge(long[] budget, long size, String pointer) {
        if (budget != null && (budget[0] -= size) < 0) {
            throw new UnsupportedSchemaException(pointer, "the request's string constraints are too large together"
                    + " (over " + SchemaCompiler.MAX_REQUEST_SIZE + " automaton states and transition ranges: fewer"
                    + " or simpler patterns and formats, or smaller character classes)");
        }
    }

    /** Builds a DFA: transitions as (lo, hi, target) triples per state. */
    static final class Builder {
        final List<int[]> transitions = new ArrayList<>();
        final List<Boolean> accept = new ArrayList<>();
        final List<Integer> tag = new ArrayList<>();
        private final String pointer;
        private final long[] budget = budget();

        Builder(String pointer) {
            this.pointer = pointer;
        }

        int add(boolean acc, int tg) {
            if (accept.size() >= MAX_STATES) {
                throw new UnsupportedSchemaException(pointer,
                        "string constraint too large (over " + MAX_STATES + " automaton states)");
            }
            charge(budget, 1, pointer);
            transitions.add(new int[0]);
            accept.add(acc);
            tag.add(tg);
            return accept.size() - 1;
        }

        /** Sets state {@code s}'s transitions, merging adjacent ranges with the same target. */
        void set(int s, int[] triples, int n) {
            int[] out = new int[n];
            int m = 0;
            for (int i = 0; i < n; i += 3) {
                if (m > 0 && out[m - 1] == triples[i + 2] && out[m - 2] + 1 == triples[i]) {
                    out[m - 2] = triples[i + 1];
                } else {
                    out[m++] = triples[i];
                    out[m++] = triples[i + 1];
                    out[m++] = triples[i + 2];
                }
            }
            charge(budget, m / 3, pointer);
            transitions.set(s, Arrays.copyOf(out, m));
        }

        Dfa build() {
            return new Dfa(transitions, accept, tag, pointer);
        }
    }

    /**
     * Subset construction of the regex's NFA. Per DFA state, the ranges of its NFA states are swept once in
     * order of their bounds, so each piece between two bounds knows the targets covering it without scanning
     * every range (a class of thousands of characters repeated was quadratic per state).
     */
    static Dfa fromRegex(Regex regex, String pointer) {
        Nfa nfa = Nfa.of(regex, pointer);
        Builder b = new Builder(pointer);
        Map<List<Integer>, Integer> ids = new HashMap<>();
        Map<List<Integer>, Integer> byTargets = new HashMap<>();   // the same targets have the same closure
        ArrayDeque<int[]> queue = new ArrayDeque<>();
        int[] start = nfa.closure(new int[] {nfa.start});
        ids.put(key(start), b.add(contains(start, nfa.accept), -1));
        queue.add(start);
        int[] covering = new int[nfa.eps.size()];   // per NFA target: ranges covering the current piece
        int[] active = new int[nfa.eps.size()];     // the targets covering it, in no order
        int[] where = new int[nfa.eps.size()];      // per target: its place in active
        while (!queue.isEmpty()) {
            int[] set = queue.poll();
            int id = ids.get(key(set));
            int count = 0;
            for (int s : set) {
                count += nfa.ranges.get(s).length / 3;
            }
            long[] starts = new long[count];   // (lo, target) and (hi + 1, target), each sorted by bound
            long[] ends = new long[count];
            int c = 0;
            for (int s : set) {
                int[] r = nfa.ranges.get(s);
                for (int i = 0; i < r.length; i += 3, c++) {
                    starts[c] = (long) r[i] << 32 | r[i + 2];
                    ends[c] = (long) (r[i + 1] + 1) << 32 | r[i + 2];
                }
            }
            Arrays.sort(starts);
            Arrays.sort(ends);
            int[] triples = new int[Math.max(0, 2 * count - 1) * 3];
            int n = 0;
            int na = 0;
            // the bounds are those of starts and ends merged; every range has ended when ends are all read
            for (int i = 0, j = 0; j < count; ) {
                int a = nextBound(starts, i, ends, j);
                for (; j < count && (int) (ends[j] >>> 32) == a; j++) {
                    int t = (int) ends[j];
                    if (--covering[t] == 0) {   // the last active target takes t's place
                        int last = active[--na];
                        active[where[t]] = last;
                        where[last] = where[t];
                    }
                }
                for (; i < count && (int) (starts[i] >>> 32) == a; i++) {
                    int t = (int) starts[i];
                    if (covering[t]++ == 0) {
                        where[t] = na;
                        active[na++] = t;
                    }
                }
                if (na == 0) {
                    continue;
                }
                int z = nextBound(starts, i, ends, j) - 1;   // a range is open: its end is still to read
                int[] targets = Arrays.copyOf(active, na);
                Arrays.sort(targets);
                List<Integer> tk = key(targets);
                Integer t = byTargets.get(tk);
                if (t == null) {
                    int[] next = nfa.closure(targets);
                    List<Integer> k2 = key(next);
                    t = ids.get(k2);
                    if (t == null) {
                        t = b.add(contains(next, nfa.accept), -1);
                        ids.put(k2, t);
                        queue.add(next);
                    }
                    byTargets.put(tk, t);
                }
                triples[n++] = a;
                triples[n++] = z;
                triples[n++] = t;
            }
            b.set(id, triples, n);
        }
        return b.build();
    }

    /** The lowest bound of {@code starts} from {@code i} and {@code ends} from {@code j} ({@code j} in range). */
    private static int nextBound(long[] starts, int i, long[] ends, int j) {
        long e = ends[j] >>> 32;
        return (int) (i < starts.length ? Math.min(starts[i] >>> 32, e) : e);
    }

    private static List<Integer> key(int[] set) {
        return Arrays.stream(set).boxed().toList();
    }

    private static boolean contains(int[] sorted, int x) {
        return Arrays.binarySearch(sorted, x) >= 0;
    }

    /**
     * Keeps only states reachable from the start that can reach an accepting state, renumbered with
     * the start first; null when the start cannot reach acceptance (no string is accepted).
     */
    Dfa trim() {
        int n = size();
        List<List<Integer>> reverse = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            reverse.add(new ArrayList<>());
        }
        for (int s = 0; s < n; s++) {
            for (int t : to[s]) {
                reverse.get(t).add(s);
            }
        }
        boolean[] live = new boolean[n];
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        for (int s = 0; s < n; s++) {
            if (accept[s]) {
                live[s] = true;
                queue.add(s);
            }
        }
        while (!queue.isEmpty()) {
            for (int p : reverse.get(queue.poll())) {
                if (!live[p]) {
                    live[p] = true;
                    queue.add(p);
                }
            }
        }
        if (!live[0]) {
            return null;
        }
        int[] id = new int[n];
        Arrays.fill(id, -1);
        List<Integer> order = new ArrayList<>();
        id[0] = 0;
        order.add(0);
        for (int k = 0; k < order.size(); k++) {
            for (int t : to[order.get(k)]) {
                if (live[t] && id[t] < 0) {
                    id[t] = order.size();
                    order.add(t);
                }
            }
        }
        Builder b = new Builder(pointer);
        for (int s : order) {
            b.add(accept[s], tag[s]);
        }
        for (int k = 0; k < order.size(); k++) {
            int s = order.get(k);
            int[] triples = new int[to[s].length * 3];
            int m = 0;
            for (int i = 0; i < to[s].length; i++) {
                if (live[to[s][i]]) {
                    triples[m++] = lo[s][i];
                    triples[m++] = hi[s][i];
                    triples[m++] = id[to[s][i]];
                }
            }
            b.set(k, triples, m);
        }
        return b.build();
    }
}
