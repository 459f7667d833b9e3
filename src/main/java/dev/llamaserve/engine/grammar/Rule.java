package dev.llamaserve.engine.grammar;

/**
 * One rule of the compiled grammar: a deterministic byte machine whose local state is a {@code long},
 * which may call other rules (a recursive state machine: the caller's state is kept on the stack and
 * {@link #resume}d with the callee's final state once the callee has ended). Every rule consumes at
 * least one byte; rules are immutable once the compiler has linked them, so one grammar serves any
 * number of sequences and threads.
 */
abstract class Rule {

    static final long DEAD = -1;
    static final Rule[] NONE = {};

    /** The JSON pointer of the schema this rule enforces (for messages). */
    final String pointer;
    /** Index in the grammar (set by the compiler), part of the state hash. */
    int id;
    /** Whether the rule can end at all (derives a finite byte string); unproductive rules are never called. */
    boolean productive;
    /** Bytes that may start this rule (set when linking; used to avoid building frames for calls that fail). */
    private final long[] first = new long[4];

    Rule(String pointer) {
        this.pointer = pointer;
    }

    abstract long start();

    /** The local state after byte {@code b} (0..255) inside this rule, or {@link #DEAD}. */
    abstract long step(long state, int b);

    /** Whether the rule may end in {@code state}. */
    abstract boolean accepting(long state);

    /** Rules that may be called from {@code state} (each then continues with {@link #resume}). */
    Rule[] calls(long state) {
        return NONE;
    }

    /** The caller's state after {@code child}, called in {@code state}, ended in {@code childFinal}. */
    long resume(long state, Rule child, long childFinal) {
        throw new IllegalStateException("rule " + pointer + " calls nothing");
    }

    /**
     * A state that accepts exactly the same byte strings of at most {@code horizon} bytes as
     * {@code state} (the mask-cache key); by default the state itself.
     */
    long canonical(long state, int horizon) {
        return state;
    }

    /** Whether the productive form of this rule is decided (leaves know at construction). */
    abstract boolean computeProductive();

    final boolean mayStartWith(int b) {
        return (first[b >>> 6] & (1L << b)) != 0;
    }

    /** Fills the first-byte set; called in callee-before-caller order for calls made at the start. */
    final void computeFirst() {
        long s = start();
        for (int b = 0; b < 256; b++) {
            if (step(s, b) != DEAD) {
                first[b >>> 6] |= 1L << b;
            }
        }
        for (Rule c : calls(s)) {
            for (int k = 0; k < 4; k++) {
                first[k] |= c.first[k];
            }
        }
    }
}
