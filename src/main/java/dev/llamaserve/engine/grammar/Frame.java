package dev.llamaserve.engine.grammar;

/**
 * One entry of a matcher's return stack: a calling rule and its state at the call (resumed with the
 * callee's final state when the callee ends). Immutable, shared between states, compared by value.
 */
final class Frame {

    final Rule rule;
    final long state;
    final Frame parent;
    final int depth;
    private final int hash;

    Frame(Rule rule, long state, Frame parent) {
        this.rule = rule;
        this.state = state;
        this.parent = parent;
        this.depth = parent == null ? 1 : parent.depth + 1;
        this.hash = hash(rule, state, parent);
    }

    static int hash(Rule rule, long state, Frame parent) {
        return (31 * rule.id + Long.hashCode(state)) * 0x9E3779B1 + (parent == null ? 0 : parent.hash);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public boolean equals(Object o) {
        Frame a = this;
        Object b0 = o;
        while (true) {
            if (a == b0) {
                return true;
            }
            if (!(b0 instanceof Frame b) || a.hash != b.hash || a.rule != b.rule || a.state != b.state
                    || a.depth != b.depth) {
                return false;
            }
            a = a.parent;
            b0 = b.parent;
            if (a == null) {
                return b0 == null;
            }
        }
    }
}
