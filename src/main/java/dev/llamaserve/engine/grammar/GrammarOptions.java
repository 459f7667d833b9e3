package dev.llamaserve.engine.grammar;

/**
 * Options of the compiled grammar.
 *
 * @param maxWhitespace whitespace bytes (space, tab, newline) allowed in each gap between the tokens of
 *     an object or array (after {@code { [ , :} and before {@code , : } ]}); none before or after the
 *     document. 0..7; 1 (the default) allows {@code {"a": 1, "b": [1, 2]}} but no pretty-printing,
 *     so a model cannot emit endless whitespace.
 */
public record GrammarOptions(int maxWhitespace) {

    public static final GrammarOptions DEFAULT = new GrammarOptions(1);

    public GrammarOptions {
        if (maxWhitespace < 0 || maxWhitespace > 7) {
            throw new IllegalArgumentException("maxWhitespace must be 0..7, was " + maxWhitespace);
        }
    }
}
