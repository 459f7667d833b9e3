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
     * told apart within a few bytes); an ambiguous union nested k deep needs 2^k, and each byte then costs the
     * square of that (the duplicate scan in {@link #add}).
     */
    static final int MAX_WIDTH = 1024;

    Rule[] rules = new Rule[4];
    long[] states = new long[4];
    Frame[] parents = new Frame[4];
    int size;
    /** Work left to the walk this set is a level of (one cell shared by its levels), or null: not counted. */
    long[] budget;

    void clear() {
        size = 0;
    }

    void add(Rule r, long s, Frame p) {
        if (budget != null && (budget[0] -= size + 1) < 0) {
            throw new GrammarTooAmbiguousException("one token mask took more than "
                    + TokenMasker.MAX_MASK_WORK + " steps");
        }
        for (int i = 0; i < size; i++) {
            if (rules[i] == r && states[i] == s && Objects.equals(parents[i], p)) {
                return;
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
        size++;
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
