package dev.llamaserve.engine.grammar;

/**
 * The grammar state of one generated sequence: the mask to apply before sampling, and the update with
 * the sampled token. Not thread-safe (one sequence, the engine thread).
 */
public final class GrammarMatcher {

    private final TokenMasker masker;
    private GrammarState state;
    private boolean ended;

    GrammarMatcher(TokenMasker masker, GrammarState initial) {
        this.masker = masker;
        this.state = initial;
    }

    /** Allowed next tokens (bit per id, see {@link TokenMasker#mask}); shared, do not modify. */
    public long[] allowedTokens() {
        return masker.mask(state);
    }

    /**
     * Advances by a sampled token. Returns false, changing nothing, when the grammar does not allow it
     * (an end-of-sequence id is allowed where the document is complete and ends the matcher).
     */
    public boolean accept(int token) {
        if (ended) {
            return false;
        }
        long[] mask = allowedTokens();
        if ((mask[token >>> 6] & (1L << token)) == 0) {
            return false;
        }
        byte[] bytes = masker.tokenBytes(token);
        if (bytes.length == 0) {
            ended = true;
            return true;
        }
        GrammarState next = state.advance(bytes);
        if (next == null) {
            throw new IllegalStateException("mask allowed a token the automaton rejects");
        }
        state = next;
        return true;
    }

    /** Whether the output so far is a complete document (end of sequence allowed). */
    public boolean isComplete() {
        return state.isComplete();
    }

    /**
     * Whether the grammar is done: an end-of-sequence token was accepted, or the document is complete and
     * nothing but end of sequence may follow (then the sequence should stop without one).
     */
    public boolean isDone() {
        return ended || (state.isComplete() && !masker.allowsMoreThanEos(allowedTokens()));
    }

    /** Whether an end-of-sequence token was accepted. */
    public boolean isEnded() {
        return ended;
    }

    public GrammarState state() {
        return state;
    }
}
