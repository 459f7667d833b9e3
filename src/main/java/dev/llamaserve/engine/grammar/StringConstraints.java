package dev.llamaserve.engine.grammar;

import static dev.llamaserve.engine.grammar.Keywords.child;

import tools.jackson.databind.JsonNode;

/** {@code minLength}, {@code maxLength}, {@code pattern} and {@code format} as one code-point automaton. */
final class StringConstraints {

    private StringConstraints() {}

    /** The trimmed automaton of the allowed string contents, or null when no string is allowed. */
    static Dfa dfa(JsonNode s, String ptr) {
        int min = Compilation.count(s, ptr, "minLength", 0);
        int max = Compilation.count(s, ptr, "maxLength", -1);
        Dfa dfa = null;
        JsonNode format = s.get("format");
        if (format != null) {
            String regex = format.isString() ? Formats.REGEX.get(format.stringValue()) : null;
            if (regex == null) {
                throw UnsupportedSchemaException.notEnforceable(child(ptr, "format"), "format " + format
                        + " is not supported (supported: " + String.join(", ", Formats.REGEX.keySet()) + ")");
            }
            dfa = Dfa.fromRegex(Regex.parse("^(?:" + regex + ")$", child(ptr, "format")), child(ptr, "format")).trim();
        }
        JsonNode pattern = s.get("pattern");
        if (pattern != null) {
            String pp = child(ptr, "pattern");
            if (!pattern.isString()) {
                throw new UnsupportedSchemaException(pp, "pattern must be a string");
            }
            Dfa p = Dfa.fromRegex(Regex.parse(pattern.stringValue(), pp), pp).trim();
            if (p == null || (format != null && dfa == null)) {
                return null;
            }
            dfa = dfa == null ? p : DfaOps.intersect(dfa, p, pp).trim();
        }
        if ((format != null || pattern != null) && dfa == null) {
            return null;
        }
        if (min > 0 || max >= 0 || dfa == null) {
            String lp = child(ptr, max >= 0 ? "maxLength" : "minLength");
            Dfa lengths = DfaOps.lengths(min, max, lp);
            dfa = dfa == null ? lengths.trim() : DfaOps.intersect(dfa, lengths, lp).trim();
        }
        return dfa;
    }
}
