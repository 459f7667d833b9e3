package dev.llamaserve.engine.grammar;

/**
 * A compiled schema: the rules of a pushdown automaton over bytes. Immutable and thread-safe; one
 * grammar serves any number of sequences, each with its own {@link GrammarState}.
 */
public final class Grammar {

    private final Rule root;
    private final int ruleCount;

    Grammar(Rule root, int ruleCount) {
        this.root = root;
        this.ruleCount = ruleCount;
    }

    /** The state before the first byte of the document. */
    public GrammarState initialState() {
        return GrammarState.initial(root);
    }

    /** Number of rules (size of the automaton; diagnostics). */
    public int ruleCount() {
        return ruleCount;
    }
}
