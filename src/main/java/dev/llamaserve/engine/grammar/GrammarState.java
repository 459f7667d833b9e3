package dev.llamaserve.engine.grammar;

/**
 * An immutable state of the byte-level matcher of a {@link Grammar}: a set of configurations of its
 * pushdown automaton. Cheap to keep and to advance; equal states (same configurations, compared by
 * value) are interchangeable, so they key the mask cache. Every state this class hands out can still
 * reach a complete document: advancing returns null instead of a dead state.
 */
public final class GrammarState {

    final Rule[] rules;
    final long[] states;
    final Frame[] parents;
    private final int hash;

    GrammarState(Configs c) {
        rules = java.util.Arrays.copyOf(c.rules, c.size);
        states = java.util.Arrays.copyOf(c.states, c.size);
        parents = java.util.Arrays.copyOf(c.parents, c.size);
        int h = 0;
        for (int i = 0; i < rules.length; i++) {
            h += Frame.hash(rules[i], states[i], parents[i]);
        }
        hash = h;
    }

    static GrammarState initial(Rule root) {
        Configs c = new Configs();
        c.add(root, root.start(), null);
        return new GrammarState(c);
    }

    void into(Configs c) {
        c.clear();
        for (int i = 0; i < rules.length; i++) {
            c.add(rules[i], states[i], parents[i]);
        }
    }

    /** The state after byte {@code b} (0..255), or null when the grammar does not allow it here. */
    public GrammarState advance(int b) {
        Configs cur = new Configs();
        into(cur);
        Configs next = new Configs();
        cur.stepAll(b & 0xFF, next);
        return next.size == 0 ? null : new GrammarState(next);
    }

    /** The state after all of {@code bytes}, or null as soon as one is not allowed. */
    public GrammarState advance(byte[] bytes) {
        Configs cur = new Configs();
        into(cur);
        Configs next = new Configs();
        for (byte b : bytes) {
            cur.stepAll(b & 0xFF, next);
            if (next.size == 0) {
                return null;
            }
            Configs t = cur;
            cur = next;
            next = t;
        }
        return new GrammarState(cur);
    }

    /** Whether the bytes so far form a complete document (end of sequence allowed). */
    public boolean isComplete() {
        for (int i = 0; i < rules.length; i++) {
            if (Configs.complete(rules[i], states[i], parents[i])) {
                return true;
            }
        }
        return false;
    }

    /** The mask-cache key: string automaton states replaced by equivalents up to {@code horizon} bytes. */
    GrammarState canonical(int horizon) {
        Configs c = new Configs();
        boolean changed = false;
        for (int i = 0; i < rules.length; i++) {
            long k = rules[i].canonical(states[i], horizon);
            changed |= k != states[i];
            c.add(rules[i], k, parents[i]);
        }
        return changed ? new GrammarState(c) : this;
    }

    /** How many configurations the state holds (ambiguity; for diagnostics and tests). */
    public int width() {
        return rules.length;
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof GrammarState g) || g.hash != hash || g.rules.length != rules.length) {
            return false;
        }
        outer:
        for (int i = 0; i < rules.length; i++) {
            for (int k = 0; k < rules.length; k++) {
                if (g.rules[k] == rules[i] && g.states[k] == states[i]
                        && java.util.Objects.equals(g.parents[k], parents[i])) {
                    continue outer;
                }
            }
            return false;
        }
        return true;
    }
}
