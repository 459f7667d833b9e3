package dev.llamaserve.engine.grammar;

import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.StringNode;

/**
 * Decides whether the branches of a {@code oneOf} are provably disjoint (no instance valid against two),
 * so that generating from any one branch yields an instance valid against exactly one. Recognised:
 * branches of disjoint JSON types ({@code integer} counts as {@code number}); {@code enum}/{@code const}
 * branches with distinct values; object branches with a common required property whose
 * {@code enum}/{@code const} values differ (tagged unions). Anything else is refused.
 *
 * <p>A branch without {@code type} is generated as the types its keywords belong to ({@link Compilation}:
 * {@code properties} makes objects) but accepts every type, since a keyword constrains only values of its own
 * type: {@code {"properties": ...}} accepts any string. So each branch has the kinds it generates and the
 * kinds it accepts, and two branches are disjoint by type only when neither generates a kind the other accepts.
 *
 * <p>A branch's signature unions those of its {@code anyOf}/{@code oneOf} branches through {@code $ref}; each schema
 * node's is computed once per depth, so a schema whose $defs refer to each other costs its size, not its unfolding.
 */
final class Disjointness {

    private static final Set<String> ALL = Set.of("object", "array", "string", "number", "boolean", "null");

    /**
     * {@code kinds}: the JSON types generated; {@code accepts}: those valid against the branch (a superset);
     * {@code literals}: its enum/const values, or null; {@code tags}: required properties with literal values.
     */
    private record Sig(Set<String> kinds, Set<String> accepts, Set<String> literals, Map<String, Set<String>> tags) {}

    /** How deep anyOf/oneOf/allOf are walked; below, a branch accepts anything (never provably disjoint). */
    private static final int MAX_DEPTH = 32;

    private final JsonNode root;
    /** Per (resolved) schema node, its signature at each depth: shared schemas ($defs) are walked once. */
    private final Map<JsonNode, Sig[]> memo = new IdentityHashMap<>();
    /** Branches are judged as they are compiled: without what a schema that is not strict goes without. */
    private final Relaxation asCompiled = new Relaxation(false);
    private int computed;

    Disjointness(JsonNode root) {
        this.root = root;
    }

    static void requireDisjoint(JsonNode root, JsonNode branches, String pointer) {
        new Disjointness(root).require(branches, pointer);
    }

    /** How many signatures of schema nodes the walk has computed (each node at most once per depth). */
    int computed() {
        return computed;
    }

    void require(JsonNode branches, String pointer) {
        List<Sig> sigs = branches.values().stream().map(b -> sig(b, 0)).toList();
        for (int i = 0; i < sigs.size(); i++) {
            for (int j = i + 1; j < sigs.size(); j++) {
                if (!disjoint(sigs.get(i), sigs.get(j))) {
                    throw UnsupportedSchemaException.notEnforceable(pointer, "oneOf branches " + i + " and " + j
                            + " are not provably disjoint (recognised: different types, different enum/const"
                            + " values, a required property with different const/enum values); use anyOf");
                }
            }
        }
    }

    private static boolean disjoint(Sig a, Sig b) {
        if (Collections.disjoint(a.kinds, b.accepts) && Collections.disjoint(b.kinds, a.accepts)) {
            return true;
        }
        if (a.literals != null && b.literals != null) {
            return Collections.disjoint(a.literals, b.literals);
        }
        if (a.kinds.equals(Set.of("object")) && b.kinds.equals(Set.of("object"))) {
            for (Map.Entry<String, Set<String>> e : a.tags.entrySet()) {
                Set<String> other = b.tags.get(e.getKey());
                if (other != null && Collections.disjoint(e.getValue(), other)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static JsonNode resolve(JsonNode root, JsonNode s, int depth) {
        // as far as compiling follows a chain of references (a longer one is refused there); a cycle ends unresolved
        while (s != null && s.isObject() && s.has("$ref") && depth++ < Compilation.MAX_DEPTH) {
            String p = s.get("$ref").isString() ? Keywords.refPointer(s.get("$ref").stringValue()) : null;
            s = p == null ? null : Keywords.at(root, p);
        }
        return s;
    }

    private Sig sig(JsonNode s0, int depth) {
        JsonNode s = resolve(root, s0, 0);
        if (s == null || depth > MAX_DEPTH || s.isBoolean() && s.booleanValue() || !s.isObject()) {
            Set<String> kinds = s != null && s.isBoolean() && !s.booleanValue() ? Set.of() : ALL;
            return new Sig(kinds, kinds, null, Map.of());
        }
        Sig[] byDepth = memo.computeIfAbsent(s, k -> new Sig[MAX_DEPTH + 1]);
        if (byDepth[depth] == null) {
            computed++;
            byDepth[depth] = walk(s, depth);
        }
        return byDepth[depth];
    }

    private Sig walk(JsonNode given, int depth) {
        JsonNode s = Compilation.enforceable(given, "", asCompiled);
        if (s.has("allOf") && s.get("allOf").size() == 1) {
            return sig(s.get("allOf").get(0), depth + 1);
        }
        for (String k : List.of("anyOf", "oneOf")) {
            if (s.has(k) && s.get(k).isArray()) {
                Set<String> kinds = new HashSet<>();
                Set<String> accepts = new HashSet<>();
                Set<String> literals = new HashSet<>();
                for (JsonNode b : s.get(k).values()) {
                    Sig x = sig(b, depth + 1);
                    kinds.addAll(x.kinds);
                    accepts.addAll(x.accepts);
                    literals = literals == null || x.literals == null ? null : union(literals, x.literals);
                }
                return new Sig(kinds, accepts, literals, Map.of());
            }
        }
        Set<String> literals = literals(s);
        if (literals != null) {
            Set<String> kinds = new HashSet<>();
            literalNodes(s).forEach(v -> kinds.add(kind(Keywords.typeOf(v))));
            return new Sig(kinds, kinds, literals, Map.of());
        }
        Set<String> kinds = new HashSet<>();
        Set<String> accepts = kinds;
        if (s.has("type")) {
            JsonNode t = s.get("type");
            for (JsonNode n : t.isArray() ? t.values() : List.of(t)) {
                kinds.add(kind(n.asString()));
            }
        } else {
            Keywords.BY_TYPE.forEach((type, kws) -> {
                if (s.propertyNames().stream().anyMatch(kws::contains)) {
                    kinds.add(type);
                }
            });
            if (kinds.isEmpty()) {
                kinds.addAll(ALL);
            }
            accepts = ALL;   // a keyword of one type leaves every other type's values valid
        }
        Map<String, Set<String>> tags = new HashMap<>();
        JsonNode props = s.get("properties");
        if (props != null && props.isObject() && s.has("required") && s.get("required").isArray()) {
            for (JsonNode r : s.get("required").values()) {
                JsonNode p = props.get(r.asString());
                Set<String> lit = p == null ? null : literals(resolve(root, p, 0));
                if (lit != null) {
                    tags.put(r.asString(), lit);
                }
            }
        }
        return new Sig(kinds, accepts, null, tags);
    }

    /** Canonical text of the enum/const values, or null. */
    private static Set<String> literals(JsonNode s) {
        List<JsonNode> nodes = literalNodes(s);
        if (nodes == null) {
            return null;
        }
        Set<String> out = new HashSet<>();
        for (JsonNode v : nodes) {
            out.add(canonical(v));
        }
        return out;
    }

    /**
     * Text equal for values equal in JSON Schema's sense: numbers by mathematical value (1, 1.0, 1e0), objects by
     * their members in any order, arrays element by element, at any depth.
     */
    /** A JSON value's identity as JSON Schema compares values: numbers by value ({@code 1} is {@code 1.0}). */
    static String canonical(JsonNode v) {
        if (v.isNumber()) {
            return "n:" + v.decimalValue().stripTrailingZeros().toPlainString();
        }
        if (v.isArray()) {
            return v.values().stream().map(Disjointness::canonical).collect(Collectors.joining(",", "[", "]"));
        }
        if (v.isObject()) {
            return v.propertyNames().stream().sorted()
                    .map(k -> StringNode.valueOf(k) + ":" + canonical(v.get(k))).collect(Collectors.joining(",", "{", "}"));
        }
        return v.toString();
    }

    private static List<JsonNode> literalNodes(JsonNode s) {
        if (s == null || !s.isObject()) {
            return null;
        }
        if (s.has("const")) {
            return List.of(s.get("const"));
        }
        if (s.has("enum") && s.get("enum").isArray()) {
            return List.copyOf(s.get("enum").values());
        }
        return null;
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new HashSet<>(a);
        u.addAll(b);
        return u;
    }

    private static String kind(String type) {
        return type.equals("integer") ? "number" : type;
    }
}
