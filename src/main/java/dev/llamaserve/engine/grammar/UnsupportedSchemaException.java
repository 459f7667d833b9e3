package dev.llamaserve.engine.grammar;

/**
 * A schema that grammar-constrained decoding cannot enforce exactly: an unsupported keyword, an
 * unsupported value of a supported keyword, or a schema with no finite instance. {@link #pointer()} is
 * the JSON pointer (RFC 6901) of the offending keyword inside the schema, e.g.
 * {@code /properties/a/multipleOf}, so the API can answer 400 {@code unsupported_value} naming it.
 */
public final class UnsupportedSchemaException extends RuntimeException {

    private final String pointer;

    public UnsupportedSchemaException(String pointer, String reason) {
        super(reason + " (at " + (pointer.isEmpty() ? "the schema root" : pointer) + ")");
        this.pointer = pointer;
    }

    /** The JSON pointer of the keyword that cannot be enforced ("" for the schema as a whole). */
    public String pointer() {
        return pointer;
    }
}
