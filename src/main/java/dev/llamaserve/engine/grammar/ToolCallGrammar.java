package dev.llamaserve.engine.grammar;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Tool calls in Llama 3.1's JSON tool-call format, as {@code chat.ToolCallParser} reads them:
 * {@code {"name": "f", "parameters": {…}}} where the parameters are valid against f's schema; with
 * {@code parallel}, one or more such calls separated by {@code "; "}. Each function's schema is compiled
 * on its own (its {@code $ref}s resolve against it), into one rule list.
 */
final class ToolCallGrammar {

    static final byte[] SEPARATOR = "; ".getBytes(StandardCharsets.UTF_8);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private ToolCallGrammar() {}

    /**
     * @throws UnsupportedSchemaException naming the function ({@link UnsupportedSchemaException#function()})
     *     and the keyword's pointer inside its parameters schema
     */
    static Grammar build(List<String> names, List<JsonNode> parameters, boolean parallel, GrammarOptions options) {
        List<Rule> rules = new ArrayList<>();
        List<Rule> arguments = new ArrayList<>();
        Grammar g = SchemaCompiler.finish(rules, root(rules, names, parameters, parallel, options, arguments));
        requireObjects(arguments);
        return g;
    }

    /**
     * Each function's arguments start with {@code {} and nothing else, once the grammar is finished (its rules know
     * their first bytes): a parameters schema whose root is a combinator or a {@code $ref} may allow another value
     * ({@code anyOf} an object or null), which the call parser does not read as arguments, so that the forced call
     * came back as text.
     */
    static void requireObjects(List<Rule> arguments) {
        for (int i = 0; i < arguments.size(); i++) {
            for (int b = 0; b < 256; b++) {
                if (b != '{' && arguments.get(i).mayStartWith(b)) {
                    throw new UnsupportedSchemaException("", "a function's parameters must allow JSON objects only,"
                            + " as OpenAI's arguments are; this schema also allows a value starting with '"
                            + (b >= 0x20 && b < 0x7f ? Character.toString(b) : String.format("\\x%02x", b)) + "'")
                            .inFunction(i);
                }
            }
        }
    }

    /**
     * A function's parameters are a JSON object (OpenAI's {@code arguments} always are, and the call parser reads
     * nothing else): a schema that says no type ({@code {}}, {@code true}, properties alone) is read as an object's,
     * so that {@code parameters: {}} no longer lets the grammar write a number there (the call then came back as text);
     * a schema of another type is refused ({@link #requireObject}).
     */
    static JsonNode asObjectSchema(JsonNode schema) {
        if (schema.isBoolean() && schema.booleanValue()) {
            return JSON.createObjectNode().put("type", "object");
        }
        if (!schema.isObject()) {
            return schema;   // false, or no schema: the compiler refuses it
        }
        if (schema.has("type") || schema.has("not") || Keywords.COMBINATORS.stream().anyMatch(schema::has)) {
            return schema;   // a type of its own, or what a combinator allows: a non-object there is no call
        }
        return ((tools.jackson.databind.node.ObjectNode) schema.deepCopy()).put("type", "object");
    }

    /** A parameters schema that names a type names {@code object}. */
    private static void requireObject(JsonNode schema) {
        JsonNode type = schema.isObject() ? schema.get("type") : null;
        if (type != null && !(type.isString() && type.asString().equals("object"))) {
            throw new UnsupportedSchemaException("/type", "a function's parameters must be a JSON object schema"
                    + " (\"type\": \"object\"), as OpenAI's arguments are");
        }
    }

    /** The calls' root rule, its rules added to {@code rules} (a grammar of calls or something else: a union). */
    static Rule root(List<Rule> rules, List<String> names, List<JsonNode> parameters, boolean parallel,
            GrammarOptions options, List<Rule> arguments) {
        Rule[] calls = new Rule[names.size()];
        Compilation last = null;
        for (int i = 0; i < calls.length; i++) {
            JsonNode schema = asObjectSchema(parameters.get(i));
            Compilation c = new Compilation(schema, options, rules);
            Rule params;
            try {
                params = c.compile(schema, "");
                requireObject(schema);   // after what the compiler refuses, which names its keyword
            } catch (UnsupportedSchemaException e) {
                throw e.inFunction(i);
            }
            LiteralRule name = c.register(new LiteralRule("", List.of(JSON.writeValueAsBytes(names.get(i)))));
            ObjectRule call = c.register(new ObjectRule("", new String[] {"name", "parameters"},
                    new boolean[] {true, true}, options.maxWhitespace()));
            call.values[0] = name;
            call.values[1] = params;
            arguments.add(params);
            calls[i] = call;
            last = c;
        }
        UnionRule any = last.register(new UnionRule(""));
        any.branches = calls;
        return parallel ? last.register(new RepeatRule("", any, SEPARATOR)) : any;
    }
}
