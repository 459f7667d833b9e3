package dev.llamaserve.engine.grammar;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
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
    private static final Logger log = LoggerFactory.getLogger(ToolCallGrammar.class);

    private ToolCallGrammar() {}

    /**
     * The grammar of the calls ({@link #root}).
     *
     * @throws UnsupportedSchemaException naming the function ({@link UnsupportedSchemaException#function()})
     *     and the keyword's pointer inside its parameters schema
     */
    static Grammar build(List<String> names, List<JsonNode> parameters, List<Boolean> strict, boolean anyObjectIfNot,
            boolean parallel, GrammarOptions options) {
        List<Rule> rules = new ArrayList<>();
        List<Rule> arguments = new ArrayList<>();
        Grammar g = SchemaCompiler.finish(rules, root(rules, names, parameters, strict, anyObjectIfNot, parallel,
                options, arguments));
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
        if (schema.has("type") || Keywords.COMBINATORS.stream().anyMatch(schema::has)) {
            return schema;   // a type of its own, or what a combinator allows: a non-object there is no call
        }
        return ((tools.jackson.databind.node.ObjectNode) schema.deepCopy()).put("type", "object");
    }

    /** A parameters schema that names a type names {@code object}; else refused naming function {@code i}. */
    private static void requireObject(JsonNode schema, int i) {
        JsonNode type = schema.isObject() ? schema.get("type") : null;
        if (type != null && !(type.isString() && type.asString().equals("object"))) {
            throw new UnsupportedSchemaException("/type", "a function's parameters must be a JSON object schema"
                    + " (\"type\": \"object\"), as OpenAI's arguments are").inFunction(i);
        }
    }

    /**
     * The calls' root rule, its rules added to {@code rules} (a grammar of calls or something else: a union). Each
     * function's parameters schema is compiled once: a strict one as it is (where it allows nothing, so do its
     * calls), one that is not without what cannot be enforced, and {@link SchemaCompiler#check}ed on its own; where it
     * cannot be enforced even then, it is refused naming the function, or with {@code anyObjectIfNot} (calls the
     * model may make or not, tool_choice auto) takes any object.
     */
    static Rule root(List<Rule> rules, List<String> names, List<JsonNode> parameters, List<Boolean> strict,
            boolean anyObjectIfNot, boolean parallel, GrammarOptions options, List<Rule> arguments) {
        Rule[] calls = new Rule[names.size()];
        Compilation glue = new Compilation(JSON.createObjectNode(), options, rules);
        for (int i = 0; i < calls.length; i++) {
            Rule params = parameters(rules, i, parameters.get(i), strict.get(i), anyObjectIfNot, options);
            LiteralRule name = glue.register(new LiteralRule("", List.of(JSON.writeValueAsBytes(names.get(i)))));
            ObjectRule call = glue.register(new ObjectRule("", new String[] {"name", "parameters"},
                    new boolean[] {true, true}, options.maxWhitespace()));
            call.values[0] = name;
            call.values[1] = params;
            arguments.add(params);
            calls[i] = call;
        }
        UnionRule any = glue.register(new UnionRule(""));
        any.branches = calls;
        return parallel ? glue.register(new RepeatRule("", any, SEPARATOR)) : any;
    }

    /** Function {@code i}'s parameters compiled into {@code rules}, as {@link #root} says. */
    private static Rule parameters(List<Rule> rules, int i, JsonNode given, boolean strict, boolean anyObjectIfNot,
            GrammarOptions options) {
        JsonNode schema = asObjectSchema(given);
        int from = rules.size();
        Rule params;
        try {
            params = strict ? new Compilation(schema, options, rules).compile(schema, "") : SchemaCompiler.compileInto(
                    rules, schema, new Relaxation(false), "tool's parameters schema", options);
        } catch (UnsupportedSchemaException e) {
            if (strict || !anyObjectIfNot) {
                throw e.inFunction(i);
            }
            log.info("A tool's parameters schema that is not strict cannot be enforced (at {}): its calls may take any"
                    + " object", SchemaCompiler.keywordsOf(List.of(e.pointer())));
            rules.subList(from, rules.size()).clear();
            return new Compilation(JSON.createObjectNode(), options, rules).anyObject();
        }
        requireObject(schema, i);   // after what the compiler refuses, which names its keyword
        return params;
    }
}
