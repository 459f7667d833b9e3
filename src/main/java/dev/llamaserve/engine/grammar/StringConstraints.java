package dev.llamaserve.engine.grammar;

import static dev.llamaserve.engine.grammar.Keywords.child;

import tools.jackson.databind.JsonNode;

/** {@code minLength}, {@code maxLength}, {@code pattern} and {@code format} as one code-point automaton. */
final class StringConstraints {

    private StringConstraints() {}

    /**
     * The trimmed automaton of the allowed string contents, or null when no string is allowed. A format whose
     * generated subset leaves nothing the other keywords allow (a leap day, a hostname over its generated length)
     * is not enforceable at {@code /format}: a schema that is not strict goes without it.
     */
    static Dfa dfa(JsonNode s, String ptr) {
        JsonNode format = s.get("format");
        if (format == null) {
            return rest(s, ptr, null);
        }
        String regex = format.isString() ? Formats.REGEX.get(format.stringValue()) : null;
        if (regex == null) {
            throw UnsupportedSchemaException.notEnforceable(child(ptr, "format"), "format " + format
                    + " is not supported (supported: " + String.join(", ", Formats.REGEX.keySet()) + ")");
        }
        Dfa f = Dfa.fromRegex(Regex.parse("^(?:" + regex + ")$", child(ptr, "format")), child(ptr, "format")).trim();
        Dfa dfa = rest(s, ptr, f);
        if (dfa == null && rest(s, ptr, null) != null) {
            throw UnsupportedSchemaException.notEnforceable(child(ptr, "format"), "format " + format + " as generated"
                    + " (a subset of what it allows) has no string that the other string keywords allow");
        }
        return dfa;
    }

    /** {@code pattern}, {@code minLength} and {@code maxLength} on {@code base} (null: any string), or null. */
    private static Dfa rest(JsonNode s, String ptr, Dfa base) {
        int min = Compilation.count(s, ptr, "minLength", 0);
        int max = Compilation.count(s, ptr, "maxLength", -1);
        Dfa dfa = base;
        JsonNode pattern = s.get("pattern");
        if (pattern != null) {
            String pp = child(ptr, "pattern");
            if (!pattern.isString()) {
                throw new UnsupportedSchemaException(pp, "pattern must be a string");
            }
            Dfa p = Dfa.fromRegex(Regex.parse(pattern.stringValue(), pp), pp).trim();
            if (p == null) {
                return null;
            }
            dfa = dfa == null ? p : DfaOps.intersect(dfa, p, pp).trim();
            if (dfa == null) {
                return null;
            }
        }
        if (min > 0 || max >= 0 || dfa == null) {
            String lp = child(ptr, max >= 0 ? "maxLength" : "minLength");
            Dfa lengths = DfaOps.lengths(min, max, lp);
            dfa = dfa == null ? lengths.trim() : DfaOps.intersect(dfa, lengths, lp).trim();
        }
        return dfa;
    }
}
