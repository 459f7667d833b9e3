package dev.llamaserve.api.openai;

import java.math.BigInteger;
import tools.jackson.databind.JsonNode;

/**
 * Typed reads of request fields: the API checks JSON types and shapes only (a wrong type is a 400 naming
 * the field); ranges are checked once, by the engine's request validation. Absent and {@code null} read as
 * {@code null}. Integers must also fit the Java type they are read into (a 400 naming the field, the limit
 * and the value).
 */
final class JsonFields {

    private static final BigInteger LONG_MIN = BigInteger.valueOf(Long.MIN_VALUE);
    private static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);

    private JsonFields() {}

    static JsonNode field(JsonNode body, String name) {
        JsonNode n = body.get(name);
        return n == null || n.isNull() || n.isMissingNode() ? null : n;
    }

    static Boolean bool(JsonNode body, String name) {
        JsonNode n = field(body, name);
        if (n == null) {
            return null;
        }
        if (!n.isBoolean()) {
            throw typeError(name, "a boolean", n);
        }
        return n.booleanValue();
    }

    static String string(JsonNode body, String name) {
        JsonNode n = field(body, name);
        if (n == null) {
            return null;
        }
        if (!n.isString()) {
            throw typeError(name, "a string", n);
        }
        return n.asString();
    }

    /** A number (any value: the engine's validation checks the range). */
    static Double number(JsonNode body, String name) {
        JsonNode n = field(body, name);
        return n == null ? null : checkNumber(n, name);
    }

    static double checkNumber(JsonNode n, String name) {
        if (!n.isNumber()) {
            throw typeError(name, "a number", n);
        }
        return n.doubleValue();
    }

    /** An integer that fits an int (integral floats such as {@code 5.0} are accepted). */
    static Integer int32(JsonNode body, String name) {
        JsonNode n = field(body, name);
        return n == null ? null : (int) checkInteger(n, name, Integer.MIN_VALUE, Integer.MAX_VALUE);
    }

    /** An integer in [min, max] (integral floats such as {@code 5.0} are accepted). */
    static Long integer(JsonNode body, String name, long min, long max) {
        JsonNode n = field(body, name);
        return n == null ? null : checkInteger(n, name, min, max);
    }

    /**
     * A token id as JSON gives it, in the prompt of {@code /v1/completions} and in {@code /detokenize} alike:
     * an int ({@code 9906.0} too, as vLLM's pydantic reads it). Whether it is in the vocabulary is the caller's rule.
     */
    static int tokenId(JsonNode n, String name) {
        return (int) checkInteger(n, name, Integer.MIN_VALUE, Integer.MAX_VALUE);
    }

    static long checkInteger(JsonNode n, String name, long min, long max) {
        if (!n.isNumber()) {
            throw typeError(name, "an integer", n);
        }
        long l;
        if (n.isIntegralNumber()) {
            BigInteger v = n.bigIntegerValue();
            if (v.compareTo(LONG_MIN) < 0 || v.compareTo(LONG_MAX) > 0) {
                throw outOfRange(name, min, max, n);
            }
            l = v.longValue();
        } else {
            double d = n.doubleValue();
            if (Double.isFinite(d) && d != Math.rint(d)) {
                throw typeError(name, "an integer", n);
            }
            if (!(d >= Long.MIN_VALUE && d <= Long.MAX_VALUE)) { // infinite, e.g. 1e400
                throw outOfRange(name, min, max, n);
            }
            l = (long) d;
        }
        if (l < min || l > max) {
            throw outOfRange(name, min, max, n);
        }
        return l;
    }

    private static ApiException outOfRange(String name, long min, long max, JsonNode n) {
        String got = n.isNumber() && !n.isIntegralNumber() && !Double.isFinite(n.doubleValue())
                ? String.valueOf(n.doubleValue()) : shortText(n);   // 1e400: Infinity, not "Infinity"
        if (min == Integer.MIN_VALUE && max == Integer.MAX_VALUE) {
            // only the type's bounds are known here; the field's own range is the engine's rule (RequestRules)
            boolean negative = n.isIntegralNumber() ? n.bigIntegerValue().signum() < 0 : n.doubleValue() < 0;
            return ApiException.invalid(name, "invalid_value", "'" + name + "' is too " + (negative ? "small" : "large")
                    + ", got " + got);
        }
        return ApiException.invalid(name, "invalid_value", "'" + name + "' must be in [" + min + ", " + max
                + "], got " + got);
    }

    static ApiException typeError(String name, String expected, JsonNode got) {
        return ApiException.invalid(name, "invalid_type", "'" + name + "' must be " + expected + ", got "
                + kind(got));
    }

    static String kind(JsonNode n) {
        if (n.isObject()) return "an object";
        if (n.isArray()) return "an array";
        if (n.isString()) return "a string";
        if (n.isBoolean()) return "a boolean";
        if (n.isNumber()) return "a number";
        return "null";
    }

    static String shortText(JsonNode n) {
        String s = n.toString();
        return s.length() > 40 ? s.substring(0, 37) + "..." : s;
    }
}
