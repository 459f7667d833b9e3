package dev.llamaserve.engine.grammar;

import static dev.llamaserve.engine.grammar.Keywords.child;

import tools.jackson.databind.JsonNode;

/** {@code minimum}, {@code maximum}, {@code exclusiveMinimum}, {@code exclusiveMaximum} into a {@link NumberRule}. */
final class NumberBounds {

    private NumberBounds() {}

    /**
     * The number rule of the bounds in {@code s}. Bounds the rule cannot hold (a range of numbers without an integer,
     * bounds beyond its magnitude) are not enforceable at the lower bound's keyword (else the upper's): where
     * {@code relaxation} leaves that out, the rule goes without all four.
     */
    static NumberRule rule(JsonNode s, String ptr, boolean integer, Relaxation relaxation) {
        double lo = Double.NEGATIVE_INFINITY;
        boolean loEx = false;
        double hi = Double.POSITIVE_INFINITY;
        boolean hiEx = false;
        String loKey = null;   // the keywords present that set the bounds (named when refused)
        String hiKey = null;
        Double v;
        if ((v = bound(s, ptr, "minimum")) != null) {
            lo = v;
            loKey = "minimum";
        }
        if ((v = bound(s, ptr, "exclusiveMinimum")) != null && v >= lo) {
            lo = v;
            loEx = true;
            loKey = "exclusiveMinimum";
        }
        if ((v = bound(s, ptr, "maximum")) != null) {
            hi = v;
            hiKey = "maximum";
        }
        if ((v = bound(s, ptr, "exclusiveMaximum")) != null && v <= hi) {
            hi = v;
            hiEx = true;
            hiKey = "exclusiveMaximum";
        }
        NumberRule r = new NumberRule(ptr, integer, lo, loEx, hi, hiEx);
        boolean emptyRange = lo > hi || (lo == hi && (loEx || hiEx));
        boolean beyond = Math.abs(lo) > NumberRule.MAX_MAGNITUDE || Math.abs(hi) > NumberRule.MAX_MAGNITUDE;
        if (r.computeProductive() || emptyRange || (integer && !beyond)) {
            return r;   // its range, or no value: an integer range without an integer
        }
        relaxation.leaveOut(integer
                ? UnsupportedSchemaException.notEnforceable(
                        child(ptr, loKey != null && Math.abs(lo) > NumberRule.MAX_MAGNITUDE ? loKey : hiKey),
                        "bounds beyond ±" + NumberRule.MAX_MAGNITUDE + " are not supported")
                : UnsupportedSchemaException.notEnforceable(child(ptr, loKey != null ? loKey : hiKey),
                        "a number range without an integer in ±" + NumberRule.MAX_MAGNITUDE + " is not supported"));
        return new NumberRule(ptr, integer, Double.NEGATIVE_INFINITY, false, Double.POSITIVE_INFINITY, false);
    }

    private static Double bound(JsonNode s, String ptr, String keyword) {
        JsonNode n = s.get(keyword);
        if (n == null) {
            return null;
        }
        if (!n.isNumber() || !Double.isFinite(n.doubleValue())) {
            throw new UnsupportedSchemaException(child(ptr, keyword), keyword + " must be a finite number");
        }
        return n.doubleValue();
    }
}
