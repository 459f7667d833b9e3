package dev.llamaserve.engine.grammar;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What one compilation does with a keyword it cannot enforce ({@link UnsupportedSchemaException#relaxable()}): a
 * strict schema is refused, naming it; one that is not strict goes without it, and the keyword's pointer is kept.
 * The compilation then goes on as if the keyword were not there, so every such keyword is left out in one pass.
 */
final class Relaxation {

    private final boolean strict;
    private final Set<String> leftOut = new LinkedHashSet<>();

    Relaxation(boolean strict) {
        this.strict = strict;
    }

    /** Throws {@code e} where the schema is strict or {@code e} is not relaxable; else leaves out its keyword. */
    void leaveOut(UnsupportedSchemaException e) {
        if (strict || !e.relaxable()) {
            throw e;
        }
        leftOut.add(e.pointer());
    }

    /** The pointers of the keywords left out, in the order met. */
    List<String> leftOut() {
        return new ArrayList<>(leftOut);
    }
}
