package dev.llamaserve.engine.grammar;

import static dev.llamaserve.engine.grammar.Keywords.child;

import tools.jackson.databind.JsonNode;

/** {@code minLength}, {@code maxLength}, {@code pattern} and {@code format} as one code-point automaton. */
final class StringConstraints {

    private StringConstraints() {}

    /**
     * The trimmed automaton of the allowed string contents, or null when no string is allowed. Not enforceable, so
     * refused or left out as {@code relaxation} says: a format that is not supported, or whose generated subset leaves
     * nothing the other keywords allow (a leap day, a hostname over its generated length), and a pattern outside the
     * regex subset.
     */
    static Dfa dfa(JsonNode s, String ptr, Relaxation relaxation) {
        Dfa format = format(s, ptr, relaxation);
        int min = Compilation.count(s, ptr, "minLength", 0);
        int max = Compilation.count(s, ptr, "maxLength", -1);
        Dfa pattern = null;
        JsonNode p = s.get("pattern");
        if (p != null) {
            String pp = child(ptr, "pattern");
            if (!p.isString()) {
                throw new UnsupportedSchemaException(pp, "pattern must be a string");
            }
            try {
                pattern = Dfa.fromRegex(Regex.parse(p.stringValue(), pp), pp).trim();
                if (pattern == null) {
                    return null;
                }
            } catch (UnsupportedSchemaException e) {
                relaxation.leaveOut(e);
            }
        }
        if (format == null) {
            return within(null, pattern, min, max, ptr);
        }
        Dfa dfa = within(format, pattern, min, max, ptr);
        if (dfa != null) {
            return dfa;
        }
        Dfa without = within(null, pattern, min, max, ptr);
        if (without != null) {
            relaxation.leaveOut(UnsupportedSchemaException.notEnforceable(child(ptr, "format"), "format "
                    + s.get("format") + " as generated (a subset of what it allows) has no string that the other"
                    + " string keywords allow"));
        }
        return without;
    }

    /** The automaton of {@code format}'s generated subset; null where there is none or it is left out. */
    private static Dfa format(JsonNode s, String ptr, Relaxation relaxation) {
        JsonNode format = s.get("format");
        if (format == null) {
            return null;
        }
        String fp = child(ptr, "format");
        String regex = format.isString() ? Formats.REGEX.get(format.stringValue()) : null;
        if (regex == null) {
            relaxation.leaveOut(UnsupportedSchemaException.notEnforceable(fp, "format " + format
                    + " is not supported (supported: " + String.join(", ", Formats.REGEX.keySet()) + ")"));
            return null;
        }
        return Dfa.fromRegex(Regex.parse("^(?:" + regex + ")$", fp), fp).trim();
    }

    /**
     * Strings of {@code base} (null: any string) that {@code pattern} (null: none) allows, of {@code min} to
     * {@code max} code points, or null.
     */
    private static Dfa within(Dfa base, Dfa pattern, int min, int max, String ptr) {
        Dfa dfa = base;
        if (pattern != null) {
            dfa = dfa == null ? pattern : DfaOps.intersect(dfa, pattern, child(ptr, "pattern")).trim();
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
