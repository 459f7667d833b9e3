package dev.llamaserve.engine.grammar;

/**
 * A schema that grammar-constrained decoding cannot enforce exactly: an unsupported keyword, an
 * unsupported value of a supported keyword, or a schema with no finite instance. {@link #pointer()} is
 * the JSON pointer (RFC 6901) of the offending keyword inside the schema, e.g.
 * {@code /properties/a/multipleOf}, so the API can answer 400 {@code unsupported_value} naming it.
 */
public final class UnsupportedSchemaException extends RuntimeException {

    private final String pointer;
    private final String reason;
    private final int function;
    private final boolean relaxable;

    /** A schema that is wrong or allows nothing: refused, strict or not. */
    public UnsupportedSchemaException(String pointer, String reason) {
        this(pointer, reason, -1, false);
    }

    private UnsupportedSchemaException(String pointer, String reason, int function, boolean relaxable) {
        super(reason + " (at " + (pointer.isEmpty() ? "the schema root" : pointer) + ")");
        this.pointer = pointer;
        this.reason = reason;
        this.function = function;
        this.relaxable = relaxable;
    }

    /**
     * A valid keyword that constrained decoding cannot enforce: a schema that is not strict goes without it
     * ({@link SchemaCompiler#compileCached(tools.jackson.databind.JsonNode, boolean)}); {@code pointer} names it.
     */
    static UnsupportedSchemaException notEnforceable(String pointer, String reason) {
        return new UnsupportedSchemaException(pointer, reason, -1, true);
    }

    /** The same refusal, found in the parameters schema of tool {@code function} (its index). */
    UnsupportedSchemaException inFunction(int function) {
        return new UnsupportedSchemaException(pointer, reason, function, relaxable);
    }

    /** Whether a schema that is not strict goes without the keyword at {@link #pointer()} ({@link Relaxation}). */
    public boolean relaxable() {
        return relaxable;
    }

    /** Why the schema cannot be enforced, without the pointer. */
    public String reason() {
        return reason;
    }

    /** For tool calls: the index of the function whose parameters schema is refused; -1 otherwise. */
    public int function() {
        return function;
    }

    /** The JSON pointer of the keyword that cannot be enforced ("" for the schema as a whole). */
    public String pointer() {
        return pointer;
    }
}
