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

    public UnsupportedSchemaException(String pointer, String reason) {
        this(pointer, reason, -1);
    }

    private UnsupportedSchemaException(String pointer, String reason, int function) {
        super(reason + " (at " + (pointer.isEmpty() ? "the schema root" : pointer) + ")");
        this.pointer = pointer;
        this.reason = reason;
        this.function = function;
    }

    /** The same refusal, found in the parameters schema of tool {@code function} (its index). */
    UnsupportedSchemaException inFunction(int function) {
        return new UnsupportedSchemaException(pointer, reason, function);
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
