package dev.llamaserve.engine.grammar;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/** The JSON Schema keywords the compiler knows, and small helpers on schema nodes and pointers. */
final class Keywords {

    /** Accepted and ignored: they do not constrain instances. */
    static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples", "$schema",
            "$id", "$comment", "deprecated", "readOnly", "writeOnly");
    /** Hold subschemas that are compiled only where referenced. */
    static final Set<String> CONTAINERS = Set.of("$defs", "definitions");
    static final Map<String, Set<String>> BY_TYPE = Map.of(
            "object", Set.of("properties", "required", "additionalProperties"),
            "array", Set.of("items", "prefixItems", "minItems", "maxItems"),
            "string", Set.of("minLength", "maxLength", "pattern", "format"),
            "number", Set.of("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"));
    static final Set<String> COMBINATORS = Set.of("$ref", "allOf", "anyOf", "oneOf", "enum", "const");
    static final List<String> TYPES = List.of("object", "array", "string", "number", "integer", "boolean", "null");
    /** JSON Schema keywords the compiler refuses (strict) or leaves out (not strict). */
    static final Set<String> UNSUPPORTED = Set.of("$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary",
            "multipleOf", "uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties",
            "dependentRequired", "dependentSchemas", "dependencies", "not", "if", "then", "else", "patternProperties",
            "propertyNames", "unevaluatedItems", "unevaluatedProperties", "additionalItems", "contains",
            "contentEncoding", "contentMediaType", "contentSchema");

    private Keywords() {}

    static boolean supported(String keyword) {
        return COMBINATORS.contains(keyword) || keyword.equals("type")
                || BY_TYPE.values().stream().anyMatch(s -> s.contains(keyword));
    }

    static boolean passive(String keyword) {
        return ANNOTATIONS.contains(keyword) || CONTAINERS.contains(keyword);
    }

    /** A JSON Schema keyword, known to the compiler or refused by it (not a name the client made up). */
    static boolean vocabulary(String keyword) {
        return supported(keyword) || passive(keyword) || UNSUPPORTED.contains(keyword);
    }

    /** One JSON-pointer reference token, escaped (RFC 6901). */
    static String esc(String token) {
        return token.replace("~", "~0").replace("/", "~1");
    }

    static String child(String pointer, String token) {
        return pointer + "/" + esc(token);
    }

    /**
     * The JSON pointer a local {@code $ref} ("#", "#/a/b", percent-encoded) refers to, or null (also for a broken
     * percent-escape such as {@code "#/a%"}, which failed the request with a 500 before).
     */
    static String refPointer(String ref) {
        if (!ref.startsWith("#")) {
            return null;
        }
        String frag;
        try {
            frag = URLDecoder.decode(ref.substring(1).replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
        return frag.isEmpty() || frag.startsWith("/") ? frag : null;
    }

    /** The node at an (unescaped-on-read) JSON pointer, or null. */
    static JsonNode at(JsonNode root, String pointer) {
        JsonNode n = root;
        if (pointer.isEmpty()) {
            return n;
        }
        for (String raw : pointer.substring(1).split("/", -1)) {
            String token = raw.replace("~1", "/").replace("~0", "~");
            if (n.isObject()) {
                n = n.get(token);
            } else if (n.isArray() && token.matches("0|[1-9][0-9]{0,8}")) {
                n = n.get(Integer.parseInt(token));
            } else {
                return null;
            }
            if (n == null) {
                return null;
            }
        }
        return n;
    }

    /** The JSON type of a value: "integer" for integral numbers. */
    static String typeOf(JsonNode v) {
        if (v.isObject()) {
            return "object";
        }
        if (v.isArray()) {
            return "array";
        }
        if (v.isString()) {
            return "string";
        }
        if (v.isNumber()) {
            return v.isIntegralNumber() || (v.doubleValue() == Math.rint(v.doubleValue())
                    && !Double.isInfinite(v.doubleValue())) ? "integer" : "number";
        }
        if (v.isBoolean()) {
            return "boolean";
        }
        return "null";
    }
}
