package dev.llamaserve.engine.grammar;

/**
 * A schema whose branches match the same text so many ways at once that following them all would hold the engine
 * thread for minutes ({@code anyOf} of {@code anyOf}s of the same {@code $ref}: 2^depth parses of one string).
 * Thrown while masking or advancing; the engine fails that one request. The message names limits, never schema
 * text (a schema's property names are the prompt's).
 */
public final class GrammarTooAmbiguousException extends RuntimeException {

    GrammarTooAmbiguousException(String message) {
        super("the schema is too ambiguous to enforce: " + message
                + "; make its anyOf/oneOf branches match different text");
    }
}
