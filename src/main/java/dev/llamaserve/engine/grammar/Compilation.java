package dev.llamaserve.engine.grammar;

import static dev.llamaserve.engine.grammar.Keywords.child;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/** Compiles one schema document into rules; see {@link SchemaCompiler} for what is supported. */
final class Compilation {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    /**
     * Most schemas compiled inside one another (references followed), and most unions (references, combinators)
     * one may call in a chain before a byte is read: compiling, linking and matching recurse that deep, and a chain
     * of 1,000 {@code $ref}s overflowed the stack. A chain of memoized references (each to the next, all compiled
     * before) is deep at matching only, hence the second count.
     */
    static final int MAX_DEPTH = 256;

    private final JsonNode root;
    private final int maxWs;
    private final Map<String, Rule> memo = new HashMap<>();
    /** The longest chain of unions each union of this compilation starts, itself included. */
    private final Map<Rule, Integer> chains = new IdentityHashMap<>();
    private int depth;
    private final Relaxation relaxation;
    final List<Rule> rules;

    Compilation(JsonNode root, GrammarOptions options) {
        this(root, options, new ArrayList<>());
    }

    /** A compilation adding its rules to {@code rules} (several schemas in one grammar: tool calls). */
    Compilation(JsonNode root, GrammarOptions options, List<Rule> rules) {
        this(root, options, rules, new Relaxation(true));
    }

    /** As above, with what cannot be enforced refused or left out as {@code relaxation} says. */
    Compilation(JsonNode root, GrammarOptions options, List<Rule> rules, Relaxation relaxation) {
        this.root = root;
        this.maxWs = options.maxWhitespace();
        this.rules = rules;
        this.relaxation = relaxation;
    }

    <R extends Rule> R register(R rule) {
        rule.id = rules.size();
        rules.add(rule);
        return rule;
    }

    private <R extends Rule> R memo(String ptr, R rule) {
        memo.put(ptr, rule);
        return rule;
    }

    private static UnsupportedSchemaException unsupported(String ptr, String why) {
        return new UnsupportedSchemaException(ptr, why);
    }

    Rule compile(JsonNode schema, String ptr) {
        Rule known = memo.get(ptr);
        if (known != null) {
            return known;
        }
        if (depth >= MAX_DEPTH) {
            throw unsupported(schema.has("$ref") ? child(ptr, "$ref") : ptr, "schemas nested more than " + MAX_DEPTH
                    + " deep, references followed, are not supported");
        }
        depth++;
        try {
            return compileNew(schema, ptr);
        } finally {
            depth--;
        }
    }

    /** Sets {@code u}'s branches, refusing a chain of more than {@link #MAX_DEPTH} unions from it. */
    private void link(UnionRule u, Rule[] branches) {
        int longest = 0;
        for (Rule b : branches) {
            longest = Math.max(longest, chains.getOrDefault(b, 0));   // a union still being compiled: 0 (a cycle)
        }
        if (longest >= MAX_DEPTH) {
            throw unsupported(u.pointer, "a chain of more than " + MAX_DEPTH + " references or unions, each calling the"
                    + " next before a value is read, is not supported");
        }
        chains.put(u, longest + 1);
        u.branches = branches;
    }

    private Rule compileNew(JsonNode given, String ptr) {
        if (given.isBoolean()) {
            return given.booleanValue() ? any() : never(ptr);
        }
        if (!given.isObject()) {
            throw unsupported(ptr, "a schema must be an object or a boolean");
        }
        JsonNode schema = enforceable(given, ptr, relaxation);
        if (schema.has("$ref")) {
            return ref(schema, ptr);
        }
        for (String combinator : List.of("allOf", "anyOf", "oneOf")) {
            if (schema.has(combinator)) {
                return union(schema, ptr, combinator);
            }
        }
        if (schema.has("enum") || schema.has("const")) {
            return literals(schema, ptr);
        }
        return typed(schema, ptr);
    }

    /**
     * The schema object less the keywords the grammar cannot enforce in it, each refused or left out by the
     * {@link Relaxation}: unsupported keywords, {@code $id} below the root, the assertions next to a {@code $ref},
     * a combinator next to assertions of its own (next to {@code type} alone, {@code type}: see
     * {@link #besideCombinator}), and the assertions next to {@code enum}/{@code const} but {@code type}. What a
     * schema object is compiled from, and what {@link Disjointness} judges a oneOf's branches by.
     */
    static JsonNode enforceable(JsonNode schema, String ptr, Relaxation relaxation) {
        Set<String> out = new LinkedHashSet<>();
        for (String k : schema.propertyNames()) {
            if (k.equals("$id") && !ptr.isEmpty()) {
                leaveOut(relaxation, out, ptr, k, "$id inside a schema (a new base URI) is not supported");
            } else if (!Keywords.passive(k) && !Keywords.supported(k)) {
                leaveOut(relaxation, out, ptr, k, "keyword '" + k + "' is not supported by constrained decoding");
            }
        }
        if (schema.has("$ref")) {
            onlyWith(relaxation, schema, ptr, "$ref", Set.of("$ref"), out);
        }
        for (String combinator : List.of("allOf", "anyOf", "oneOf")) {
            if (schema.has(combinator) && !out.contains(combinator)) {
                besideCombinator(relaxation, schema, ptr, combinator, out);
            }
        }
        String literal = schema.has("enum") ? "enum" : "const";
        if (schema.has(literal) && !out.contains(literal)) {
            onlyWith(relaxation, schema, ptr, literal, Set.of("type", "enum", "const"), out);
        }
        if (out.isEmpty()) {
            return schema;
        }
        ObjectNode rest = JSON.createObjectNode();
        for (Map.Entry<String, JsonNode> e : schema.properties()) {
            if (!out.contains(e.getKey())) {
                rest.set(e.getKey(), e.getValue());
            }
        }
        return rest;
    }

    /**
     * Leaves out {@code combinator} where other assertions are next to it (their combination is not enforced), so
     * that the schema object's own structure stays; where that is {@code type} alone, {@code type} goes instead,
     * as the branches say what they generate ({@code {"type": "object", "oneOf": [...objects]}} keeps its objects).
     */
    private static void besideCombinator(Relaxation relaxation, JsonNode schema, String ptr, String combinator,
            Set<String> out) {
        List<String> others = new ArrayList<>();
        for (String k : schema.propertyNames()) {
            if (!k.equals(combinator) && !out.contains(k) && !Keywords.passive(k)) {
                others.add(k);
            }
        }
        if (others.equals(List.of("type"))) {
            leaveOut(relaxation, out, ptr, "type", "'type' next to '" + combinator + "' is not supported");
        } else if (!others.isEmpty()) {
            leaveOut(relaxation, out, ptr, combinator, "'" + combinator + "' next to other assertions ("
                    + String.join(", ", others) + ") is not supported");
        }
    }

    /** Leaves out the assertions next to {@code keyword} but {@code allowed} (their combination is not enforced). */
    private static void onlyWith(Relaxation relaxation, JsonNode schema, String ptr, String keyword,
            Set<String> allowed, Set<String> out) {
        for (String k : schema.propertyNames()) {
            if (!out.contains(k) && !Keywords.passive(k) && !allowed.contains(k)) {
                leaveOut(relaxation, out, ptr, k, "'" + k + "' next to '" + keyword + "' is not supported");
            }
        }
    }

    /** Refuses keyword {@code k} of the schema at {@code ptr} as not enforceable, or adds it to {@code out}. */
    private static void leaveOut(Relaxation relaxation, Set<String> out, String ptr, String k, String why) {
        relaxation.leaveOut(UnsupportedSchemaException.notEnforceable(child(ptr, k), why));
        out.add(k);
    }

    private Rule ref(JsonNode schema, String ptr) {
        String kp = child(ptr, "$ref");
        JsonNode ref = schema.get("$ref");
        String target = ref.isString() ? Keywords.refPointer(ref.stringValue()) : null;
        if (target == null) {
            throw unsupported(kp, "only references within the schema (\"#\" or \"#/...\", percent-encoded as a URI"
                    + " fragment) are supported");
        }
        JsonNode node = Keywords.at(root, target);
        if (node == null) {
            throw unsupported(kp, "reference " + ref.stringValue() + " does not resolve");
        }
        UnionRule u = memo(ptr, register(new UnionRule(kp)));
        link(u, new Rule[] {compile(node, target)});
        return u;
    }

    private Rule union(JsonNode schema, String ptr, String keyword) {
        String kp = child(ptr, keyword);
        JsonNode list = schema.get(keyword);
        if (!list.isArray() || list.isEmpty()) {
            throw unsupported(kp, keyword + " must be a non-empty array of schemas");
        }
        if (keyword.equals("allOf") && list.size() > 1) {
            throw unsupported(kp, "allOf with more than one schema is not supported");
        }
        if (keyword.equals("oneOf")) {
            try {
                Disjointness.requireDisjoint(root, list, kp);
            } catch (UnsupportedSchemaException e) {
                relaxation.leaveOut(e);   // not strict: read as anyOf
            }
        }
        UnionRule u = memo(ptr, register(new UnionRule(kp)));
        Rule[] branches = new Rule[list.size()];
        for (int k = 0; k < branches.length; k++) {
            branches[k] = compile(list.get(k), kp + "/" + k);
        }
        link(u, branches);
        return u;
    }

    private Rule literals(JsonNode schema, String ptr) {
        List<JsonNode> values = new ArrayList<>();
        if (schema.has("enum")) {
            JsonNode e = schema.get("enum");
            if (!e.isArray()) {
                throw unsupported(child(ptr, "enum"), "enum must be an array");
            }
            values.addAll(e.values());
        }
        if (schema.has("const")) {
            JsonNode c = schema.get("const");
            String same = Disjointness.canonical(c);   // JSON Schema's equality: 1.0 is the enum's 1
            values = schema.has("enum")
                    ? values.stream().filter(v -> Disjointness.canonical(v).equals(same)).toList() : List.of(c);
        }
        Set<String> types = schema.has("type") ? declaredTypes(schema.get("type"), ptr) : null;
        List<byte[]> literals = new ArrayList<>();
        for (JsonNode v : values) {
            String t = Keywords.typeOf(v);
            if (types == null || types.contains(t) || (t.equals("integer") && types.contains("number"))) {
                literals.add(JSON.writeValueAsBytes(v));
            }
        }
        return memo(ptr, register(new LiteralRule(ptr, literals)));
    }

    private Set<String> declaredTypes(JsonNode type, String ptr) {
        Set<String> out = new LinkedHashSet<>();
        List<JsonNode> names = type.isArray() ? List.copyOf(type.values()) : List.of(type);
        for (JsonNode n : names) {
            if (!n.isString() || !Keywords.TYPES.contains(n.stringValue())) {
                throw unsupported(child(ptr, "type"), "type must be one of " + Keywords.TYPES + " or an array of them");
            }
            out.add(n.stringValue());
        }
        if (out.isEmpty()) {
            throw unsupported(child(ptr, "type"), "type must not be an empty array");
        }
        return out;
    }

    private Rule typed(JsonNode schema, String ptr) {
        Set<String> types;
        if (schema.has("type")) {
            types = declaredTypes(schema.get("type"), ptr);
        } else {
            types = new LinkedHashSet<>();
            for (Map.Entry<String, Set<String>> e : Keywords.BY_TYPE.entrySet()) {
                if (schema.propertyNames().stream().anyMatch(e.getValue()::contains)) {
                    types.add(e.getKey());
                }
            }
            if (types.isEmpty()) {
                return memo(ptr, any());
            }
        }
        if (types.contains("number")) {
            types.remove("integer");
        }
        if (types.size() == 1) {
            return typeRule(schema, ptr, types.iterator().next(), true);
        }
        UnionRule u = memo(ptr, register(new UnionRule(ptr)));
        List<Rule> branches = new ArrayList<>();
        for (String t : types) {
            branches.add(typeRule(schema, ptr, t, false));
        }
        link(u, branches.toArray(Rule[]::new));
        return u;
    }

    private Rule typeRule(JsonNode s, String ptr, String type, boolean memoize) {
        Rule r = switch (type) {
            case "object" -> object(s, ptr, memoize);
            case "array" -> array(s, ptr, memoize);
            case "string" -> register(new StringRule(ptr, StringConstraints.dfa(s, ptr, relaxation)));
            case "number", "integer" -> register(NumberBounds.rule(s, ptr, type.equals("integer"), relaxation));
            case "boolean" -> register(new LiteralRule(ptr, List.of(bytes("true"), bytes("false"))));
            default -> register(new LiteralRule(ptr, List.of(bytes("null"))));
        };
        return memoize ? memo(ptr, r) : r;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private Rule object(JsonNode s, String ptr, boolean memoize) {
        JsonNode props = s.get("properties");
        if (props != null && !props.isObject()) {
            throw unsupported(child(ptr, "properties"), "properties must be an object");
        }
        JsonNode req = s.get("required");
        Set<String> required = new LinkedHashSet<>();
        if (req != null) {
            if (!req.isArray()) {
                throw unsupported(child(ptr, "required"), "required must be an array of strings");
            }
            for (JsonNode n : req.values()) {
                if (!n.isString()) {
                    throw unsupported(child(ptr, "required"), "required must be an array of strings");
                }
                required.add(n.stringValue());
            }
        }
        JsonNode ap = s.get("additionalProperties");
        if (ap != null && !ap.isBoolean() && !ap.isObject()) {
            throw unsupported(child(ptr, "additionalProperties"), "additionalProperties must be a schema");
        }
        Map<String, JsonNode> declared = new LinkedHashMap<>();
        Map<String, String> pointers = new HashMap<>();
        if (props != null) {
            for (Map.Entry<String, JsonNode> e : props.properties()) {
                declared.put(e.getKey(), e.getValue());
                pointers.put(e.getKey(), child(child(ptr, "properties"), e.getKey()));
            }
        }
        for (String name : required) {
            if (!declared.containsKey(name)) { // required but not declared: the additionalProperties schema
                declared.put(name, ap == null ? JSON.getNodeFactory().booleanNode(true) : ap);
                pointers.put(name, child(ptr, "additionalProperties"));
            }
        }
        for (String name : declared.keySet()) {   // its key would be written as bytes that are not UTF-8
            if (name.codePoints().anyMatch(cp -> cp >= CodePoints.SURROGATES[0] && cp <= CodePoints.SURROGATES[1])) {
                throw unsupported(pointers.get(name), "a property name with an unpaired surrogate has no UTF-8 form");
            }
        }
        String[] names = declared.keySet().toArray(String[]::new);
        boolean[] req2 = new boolean[names.length];
        for (int j = 0; j < names.length; j++) {
            req2[j] = required.contains(names[j]);
        }
        ObjectRule o = register(new ObjectRule(ptr, names, req2, maxWs));
        if (memoize) {
            memo(ptr, o);
        }
        for (int j = 0; j < names.length; j++) {
            o.values[j] = compile(declared.get(names[j]), pointers.get(names[j]));
        }
        if (ap == null || (ap.isBoolean() && ap.booleanValue())) {
            o.additional = props == null || props.isEmpty() ? any() : null;
        } else if (ap.isObject()) {
            o.additional = compile(ap, child(ptr, "additionalProperties"));
        }
        return o;
    }

    private Rule array(JsonNode s, String ptr, boolean memoize) {
        int min = count(s, ptr, "minItems", 0);
        int max = count(s, ptr, "maxItems", -1);
        JsonNode prefix = s.get("prefixItems");
        if (prefix != null && !prefix.isArray()) {
            throw unsupported(child(ptr, "prefixItems"), "prefixItems must be an array of schemas");
        }
        JsonNode items = s.get("items");
        if (items != null && !items.isBoolean() && !items.isObject()) {
            throw unsupported(child(ptr, "items"), "items must be a schema (use prefixItems for tuples)");
        }
        ArrayRule a = register(new ArrayRule(ptr, min, max, maxWs));
        if (memoize) {
            memo(ptr, a);
        }
        if (prefix != null) {
            Rule[] p = new Rule[prefix.size()];
            for (int k = 0; k < p.length; k++) {
                p[k] = compile(prefix.get(k), child(ptr, "prefixItems") + "/" + k);
            }
            a.prefix = p;
        }
        a.items = items == null ? any() : items.isBoolean() ? (items.booleanValue() ? any() : null)
                : compile(items, child(ptr, "items"));
        a.link();
        return a;
    }

    static int count(JsonNode s, String ptr, String keyword, int absent) {
        JsonNode n = s.get(keyword);
        if (n == null) {
            return absent;
        }
        if (!n.isNumber() || !"integer".equals(Keywords.typeOf(n)) || n.doubleValue() < 0) {
            throw unsupported(child(ptr, keyword), keyword + " must be a non-negative integer");
        }
        return (int) Math.min(n.doubleValue(), Integer.MAX_VALUE / 2);
    }

    private Rule never(String ptr) {
        return register(new LiteralRule(ptr, List.of()));
    }

    /** Any JSON value (objects and arrays of any values, any string, any number). */
    Rule any() {
        Rule known = memo.get("#any");
        if (known != null) {
            return known;
        }
        UnionRule u = memo("#any", register(new UnionRule("")));
        u.branches = new Rule[] {anyObject(), anyArray(), register(new StringRule("", DfaOps.lengths(0, -1, ""))),
                register(new NumberRule("", false, Double.NEGATIVE_INFINITY, false, Double.POSITIVE_INFINITY, false)),
                register(new LiteralRule("", List.of(bytes("true"), bytes("false"), bytes("null"))))};
        return u;
    }

    /** Any JSON object ({@code response_format} json_object). */
    Rule anyObject() {
        Rule known = memo.get("#object");
        if (known != null) {
            return known;
        }
        ObjectRule o = memo("#object", register(new ObjectRule("", new String[0], new boolean[0], maxWs)));
        o.additional = any();
        return o;
    }

    private Rule anyArray() {
        ArrayRule a = register(new ArrayRule("", 0, -1, maxWs));
        a.items = any();
        a.link();
        return a;
    }
}
