package dev.llamaserve.chat;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Iterator;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * Python's {@code json.dumps(value, ensure_ascii=False, indent=...)}, which is what the chat
 * template's {@code tojson} filter produces in transformers: {@code ", "} and {@code ": "}
 * separators, {@code {}} and {@code []} for empty containers even when indented, floats as
 * Python's {@code repr} ({@code 1e+16}, {@code 2.5e-08}, {@code 3.0}, {@code -0.0}), integers of
 * any size as written, lowercase {@code \u001f} escapes for control characters and every other
 * character kept as is.
 *
 * <p>Floating-point numbers are taken as doubles, as Python's {@code json.loads} takes them; parse
 * JSON with doubles for floats (not {@code BigDecimal}) so that {@code -0.0} keeps its sign.
 */
public final class PyJson {

    private PyJson() {}

    /** {@code json.dumps(node, ensure_ascii=False)}. */
    public static String dumps(JsonNode node) {
        StringBuilder out = new StringBuilder();
        write(node, -1, 0, out);
        return out.toString();
    }

    /** {@code json.dumps(node, ensure_ascii=False, indent=indent)}. */
    public static String dumps(JsonNode node, int indent) {
        StringBuilder out = new StringBuilder();
        write(node, indent, 0, out);
        return out.toString();
    }

    /** {@code json.dumps(text, ensure_ascii=False)}: a quoted, escaped string. */
    public static String dumpsString(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2);
        writeString(text, out);
        return out.toString();
    }

    private static void write(JsonNode node, int indent, int level, StringBuilder out) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            out.append("null");
        } else if (node.isString()) {
            writeString(node.stringValue(), out);
        } else if (node.isBoolean()) {
            out.append(node.booleanValue() ? "true" : "false");
        } else if (node.isIntegralNumber()) {
            out.append(node.bigIntegerValue().toString());
        } else if (node.isNumber()) {
            out.append(floatRepr(node.doubleValue()));
        } else if (node.isArray()) {
            writeContainer('[', ']', node.values().iterator(), null, indent, level, out);
        } else if (node.isObject()) {
            writeContainer('{', '}', null, node.properties().iterator(), indent, level, out);
        } else {
            throw new IllegalArgumentException("not JSON data: " + node.getNodeType());
        }
    }

    private static void writeContainer(char open, char close, Iterator<JsonNode> items,
            Iterator<Map.Entry<String, JsonNode>> fields, int indent, int level, StringBuilder out) {
        boolean empty = items != null ? !items.hasNext() : !fields.hasNext();
        if (empty) {
            out.append(open).append(close);
            return;
        }
        out.append(open);
        boolean first = true;
        while (items != null ? items.hasNext() : fields.hasNext()) {
            if (!first) {
                out.append(indent < 0 ? ", " : ",");
            }
            first = false;
            newline(indent, level + 1, out);
            if (items != null) {
                write(items.next(), indent, level + 1, out);
            } else {
                Map.Entry<String, JsonNode> field = fields.next();
                writeString(field.getKey(), out);
                out.append(": ");
                write(field.getValue(), indent, level + 1, out);
            }
        }
        newline(indent, level, out);
        out.append(close);
    }

    private static void newline(int indent, int level, StringBuilder out) {
        if (indent >= 0) {
            out.append('\n');
            out.append(" ".repeat(indent * level));
        }
    }

    private static void writeString(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /**
     * Python's {@code repr(float)} as {@code json.dumps} writes it: the shortest digits that read
     * back as the same double; positional notation when the decimal exponent is in [-4, 16),
     * otherwise {@code d.ddde±XX} with at least two exponent digits.
     */
    public static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        String sign = d < 0 ? "-" : "";
        BigDecimal exact = new BigDecimal(Math.abs(d));
        BigDecimal shortest = shortestRoundTrip(exact, Math.abs(d));
        String digits = shortest.unscaledValue().toString();
        // strip trailing zeros of the digit string, keeping the value: value = 0.digits × 10^decpt
        int decpt = digits.length() - shortest.scale();
        int end = digits.length();
        while (end > 1 && digits.charAt(end - 1) == '0') {
            end--;
        }
        digits = digits.substring(0, end);
        StringBuilder out = new StringBuilder(sign);
        if (decpt > -4 && decpt <= 16) {
            if (decpt <= 0) {
                out.append("0.").append("0".repeat(-decpt)).append(digits);
            } else if (decpt >= digits.length()) {
                out.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
            } else {
                out.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
            }
        } else {
            out.append(digits.charAt(0));
            if (digits.length() > 1) {
                out.append('.').append(digits, 1, digits.length());
            }
            int exp = decpt - 1;
            out.append('e').append(exp < 0 ? '-' : '+');
            int abs = Math.abs(exp);
            if (abs < 10) {
                out.append('0');
            }
            out.append(abs);
        }
        return out.toString();
    }

    /** The decimal with the fewest significant digits that parses back to {@code d}, nearest first. */
    private static BigDecimal shortestRoundTrip(BigDecimal exact, double d) {
        for (int precision = 1; precision <= 17; precision++) {
            BigDecimal nearest = exact.round(new MathContext(precision, RoundingMode.HALF_EVEN));
            if (nearest.doubleValue() == d) {
                return nearest;
            }
            // At a power of two the interval that reads back as d is lopsided: a neighbour of the
            // nearest candidate can read back when the nearest does not.
            BigDecimal step = BigDecimal.ONE.scaleByPowerOfTen(-nearest.scale());
            for (BigDecimal candidate : new BigDecimal[] {nearest.subtract(step), nearest.add(step)}) {
                if (candidate.signum() > 0 && candidate.doubleValue() == d) {
                    return candidate;
                }
            }
        }
        return exact.round(new MathContext(17, RoundingMode.HALF_EVEN));
    }
}
