package dev.llamaserve.api.openai;

import java.math.BigDecimal;
import tools.jackson.databind.JsonNode;

/**
 * Typed, range-checked reads of request fields. Absent and {@code null} read as {@code null};
 * a wrong type or a value out of range is a 400 naming the field, the limit and the value.
 */
final class JsonFields {

    private static final BigDecimal LONG_MIN = BigDecimal.valueOf(Long.MIN_VALUE);
    private static final BigDecimal LONG_MAX = BigDecimal.valueOf(Long.MAX_VALUE);

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

    /** A number in [min, max] (bounds inclusive unless said otherwise). */
    static Double number(JsonNode body, String name, double min, boolean minInclusive, double max,
            boolean maxInclusive) {
        JsonNode n = field(body, name);
        if (n == null) {
            return null;
        }
        return checkNumber(n, name, min, minInclusive, max, maxInclusive);
    }

    static double checkNumber(JsonNode n, String name, double min, boolean minInclusive, double max,
            boolean maxInclusive) {
        if (!n.isNumber()) {
            throw typeError(name, "a number", n);
        }
        BigDecimal v = n.decimalValue();
        int lo = v.compareTo(BigDecimal.valueOf(min));
        int hi = v.compareTo(BigDecimal.valueOf(max));
        if (lo < 0 || (lo == 0 && !minInclusive) || hi > 0 || (hi == 0 && !maxInclusive)) {
            throw ApiException.invalid(name, "invalid_value", "'" + name + "' must be in "
                    + (minInclusive ? "[" : "(") + fmt(min) + ", " + fmt(max) + (maxInclusive ? "]" : ")")
                    + ", got " + shortText(n));
        }
        return v.doubleValue();
    }

    /** An integer in [min, max]; integral floats such as {@code 5.0} are accepted. */
    static Long integer(JsonNode body, String name, long min, long max) {
        JsonNode n = field(body, name);
        if (n == null) {
            return null;
        }
        return checkInteger(n, name, min, max);
    }

    static long checkInteger(JsonNode n, String name, long min, long max) {
        if (!n.isNumber()) {
            throw typeError(name, "an integer", n);
        }
        BigDecimal v = n.decimalValue();
        // compare before any conversion: 1e999999999 must not be expanded
        if (v.compareTo(LONG_MIN) < 0 || v.compareTo(LONG_MAX) > 0) {
            throw ApiException.invalid(name, "invalid_value", "'" + name + "' must be in [" + min + ", " + max
                    + "], got " + shortText(n));
        }
        if (v.signum() != 0 && v.stripTrailingZeros().scale() > 0) {
            throw typeError(name, "an integer", n);
        }
        long l = v.longValue();
        if (l < min || l > max) {
            throw ApiException.invalid(name, "invalid_value", "'" + name + "' must be in [" + min + ", " + max
                    + "], got " + l);
        }
        return l;
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

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
