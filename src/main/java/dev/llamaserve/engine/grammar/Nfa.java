package dev.llamaserve.engine.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Thompson NFA over code-point ranges, built from a {@link Regex}; only used to build a {@link Dfa}. */
final class Nfa {

    static final int MAX_STATES = 200_000;

    final List<int[]> eps = new ArrayList<>();      // per state: epsilon targets
    final List<int[]> ranges = new ArrayList<>();   // per state: lo, hi, target triples
    private final String pointer;
    private final long[] budget = Dfa.budget();
    int start;
    int accept;

    private Nfa(String pointer) {
        this.pointer = pointer;
    }

    static Nfa of(Regex regex, String pointer) {
        Nfa nfa = new Nfa(pointer);
        int[] f = nfa.build(regex);
        nfa.start = f[0];
        nfa.accept = f[1];
        return nfa;
    }

    private int state() {
        if (eps.size() >= MAX_STATES) {
            throw UnsupportedSchemaException.notEnforceable(pointer, "pattern too large (over " + MAX_STATES + " automaton states)");
        }
        eps.add(new int[0]);
        ranges.add(new int[0]);
        return eps.size() - 1;
    }

    private void epsilon(int from, int to) {
        int[] e = eps.get(from);
        e = Arrays.copyOf(e, e.length + 1);
        e[e.length - 1] = to;
        eps.set(from, e);
    }

    /** Returns {start, end} of a fragment for {@code r}. */
    private int[] build(Regex r) {
        if (r instanceof Regex.Chars c) {
            int s = state();
            int e = state();
            int[] set = CodePoints.minus(c.set(), CodePoints.SURROGATES);
            Dfa.charge(budget, set.length / 2, pointer);   // each copy of a class holds all its ranges
            int[] t = new int[set.length / 2 * 3];
            for (int i = 0, j = 0; i < set.length; i += 2) {
                t[j++] = set[i];
                t[j++] = set[i + 1];
                t[j++] = e;
            }
            ranges.set(s, t);
            return new int[] {s, e};
        }
        if (r instanceof Regex.Concat c) {
            int s = state();
            int cur = s;
            for (Regex p : c.parts()) {
                int[] f = build(p);
                epsilon(cur, f[0]);
                cur = f[1];
            }
            return new int[] {s, cur};
        }
        if (r instanceof Regex.Alt a) {
            int s = state();
            int e = state();
            for (Regex o : a.options()) {
                int[] f = build(o);
                epsilon(s, f[0]);
                epsilon(f[1], e);
            }
            return new int[] {s, e};
        }
        Regex.Repeat rep = (Regex.Repeat) r;
        int s = state();
        int cur = s;
        for (int i = 0; i < rep.min(); i++) {
            int[] f = build(rep.body());
            epsilon(cur, f[0]);
            cur = f[1];
        }
        if (rep.max() < 0) {
            int[] f = build(rep.body());
            int e = state();
            epsilon(cur, f[0]);
            epsilon(cur, e);
            epsilon(f[1], f[0]);
            epsilon(f[1], e);
            return new int[] {s, e};
        }
        int e = state();
        epsilon(cur, e);
        for (int i = rep.min(); i < rep.max(); i++) {
            int[] f = build(rep.body());
            epsilon(cur, f[0]);
            epsilon(f[1], e);
            cur = f[1];
        }
        return new int[] {s, e};
    }

    /** The epsilon closure of {@code set}, sorted. */
    int[] closure(int[] set) {
        boolean[] seen = new boolean[eps.size()];
        int[] stack = new int[eps.size()];
        int sp = 0;
        for (int s : set) {
            if (!seen[s]) {
                seen[s] = true;
                stack[sp++] = s;
            }
        }
        int n = 0;
        int[] out = new int[eps.size()];
        while (sp > 0) {
            int s = stack[--sp];
            out[n++] = s;
            for (int t : eps.get(s)) {
                if (!seen[t]) {
                    seen[t] = true;
                    stack[sp++] = t;
                }
            }
        }
        int[] r = Arrays.copyOf(out, n);
        Arrays.sort(r);
        return r;
    }
}
