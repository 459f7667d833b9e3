package dev.llamaserve.engine.grammar;

import java.util.Arrays;
import java.util.Objects;

/**
 * A mutable set of matcher configurations (rule, local state, return stack), the working form of a
 * {@link GrammarState}; {@link #step} advances one configuration by one byte into another set. Calls
 * and returns are expanded on demand: a rule that may call starts each callee on the byte, and a rule
 * that may end returns to its caller, which then takes the byte.
 */
final class Configs {

    /**
     * The most configurations one set may hold. Every schema of the test corpus needs at most 2 (branches are
     * told apart within a few bytes), a union of object variants whose tag comes after a shared field one per
     * variant (hundreds); an ambiguous union nested k deep needs 2^k.
     */
    static final int MAX_WIDTH = 1024;

    /** Up to this many configurations duplicates are found by a scan; beyond, through {@link #index}. */
    private static final int SCAN = 8;

    Rule[] rules = new Rule[4];
    long[] states = new long[4];
    Frame[] parents = new Frame[4];
    int size;
    /**
     * The walk this set is a level of (shared by its levels): {work left, the walk's whole budget}, or null: not
     * counted.
     */
    long[] budget;
    /**
     * Open addressing: position + 1 of each configuration by its hash, 0 for an empty slot; at most half full.
     * Kept only while {@link #indexed} (more than {@link #SCAN} configurations), so that a wide set (a union of
     * hundreds of object variants, each one parse) costs its width per byte, not the square of it.
     */
    private int[] index;
    private boolean indexed;

    void clear() {
        size = 0;
        if (indexed) {
            Arrays.fill(index, 0);
            indexed = false;
        }
    }

    void add(Rule r, long s, Frame p) {
        if (budget != null && (budget[0] -= Math.min(size, SCAN) + 1) < 0) {
            throw new GrammarTooAmbiguousException("one token mask took more than " + budget[1] + " steps");
        }
        int slot = -1;
        if (size < SCAN) {
            for (int i = 0; i < size; i++) {
                if (same(i, r, s, p)) {
                    return;
                }
            }
        } else {
            if (!indexed) {
                reindex(SCAN * 8);
            }
            int mask = index.length - 1;
            for (slot = spread(Frame.hash(r, s, p)) & mask; index[slot] != 0; slot = (slot + 1) & mask) {
                if (same(index[slot] - 1, r, s, p)) {
                    return;
                }
            }
        }
        if (size == MAX_WIDTH) {
            throw new GrammarTooAmbiguousException("more than " + MAX_WIDTH + " parses of the output at once");
        }
        if (size == rules.length) {
            rules = Arrays.copyOf(rules, size * 2);
            states = Arrays.copyOf(states, size * 2);
            parents = Arrays.copyOf(parents, size * 2);
        }
        rules[size] = r;
        states[size] = s;
        parents[size] = p;
        if (slot >= 0) {
            index[slot] = size + 1;
        }
        size++;
        if (indexed && size * 2 > index.length) {
            reindex(index.length * 2);
        }
    }

    private boolean same(int i, Rule r, long s, Frame p) {
        return rules[i] == r && states[i] == s && Objects.equals(parents[i], p);
    }

    /**
     * Rebuilds {@link #index} over the configurations held, with at least {@code capacity} slots. An index kept
     * is empty: it is reused only once {@link #clear} has emptied it (a wider one is always new).
     */
    private void reindex(int capacity) {
        if (index == null || index.length < capacity) {
            index = new int[capacity];
        }
        int mask = index.length - 1;
        for (int i = 0; i < size; i++) {
            int k = spread(Frame.hash(rules[i], states[i], parents[i])) & mask;
            while (index[k] != 0) {
                k = (k + 1) & mask;
            }
            index[k] = i + 1;
        }
        indexed = true;
    }

    private static int spread(int h) {
        return h ^ (h >>> 16);
    }

    /** Adds to {@code out} every configuration reachable from (r, s, parent) by byte {@code b}. */
    static void step(Rule r, long s, Frame parent, int b, Configs out) {
        long t = r.step(s, b);
        if (t != Rule.DEAD) {
            out.add(r, t, parent);
        }
        Rule[] calls = r.calls(s);
        if (calls.length > 0) {
            Frame ret = null;
            for (Rule c : calls) {
                if (c.mayStartWith(b)) {
                    if (ret == null) {
                        ret = new Frame(r, s, parent);
                    }
                    step(c, c.start(), ret, b, out);
                }
            }
        }
        if (parent != null && r.accepting(s)) {
            step(parent.rule, parent.rule.resume(parent.state, r, s), parent.parent, b, out);
        }
    }

    /** Steps every configuration of this set by {@code b} into {@code out} (cleared first). */
    void stepAll(int b, Configs out) {
        out.clear();
        for (int i = 0; i < size; i++) {
            step(rules[i], states[i], parents[i], b, out);
        }
    }

    /** Whether the document may end here: some configuration and all its callers can end. */
    boolean complete() {
        for (int i = 0; i < size; i++) {
            if (complete(rules[i], states[i], parents[i])) {
                return true;
            }
        }
        return false;
    }

    static boolean complete(Rule r, long s, Frame parent) {
        while (r.accepting(s)) {
            if (parent == null) {
                return true;
            }
            long ps = parent.rule.resume(parent.state, r, s);
            r = parent.rule;
            s = ps;
            parent = parent.parent;
        }
        return false;
    }

}
