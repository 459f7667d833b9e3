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
        return SchemaCompiler.finish(rules, root(rules, names, parameters, parallel, options));
    }

    /** The calls' root rule, its rules added to {@code rules} (a grammar of calls or something else: a union). */
    static Rule root(List<Rule> rules, List<String> names, List<JsonNode> parameters, boolean parallel,
            GrammarOptions options) {
        Rule[] calls = new Rule[names.size()];
        Compilation last = null;
        for (int i = 0; i < calls.length; i++) {
            JsonNode schema = parameters.get(i);
            Compilation c = new Compilation(schema, options, rules);
            Rule params;
            try {
                params = c.compile(schema, "");
            } catch (UnsupportedSchemaException e) {
                throw e.inFunction(i);
            }
            LiteralRule name = c.register(new LiteralRule("", List.of(JSON.writeValueAsBytes(names.get(i)))));
            ObjectRule call = c.register(new ObjectRule("", new String[] {"name", "parameters"},
                    new boolean[] {true, true}, options.maxWhitespace()));
            call.values[0] = name;
            call.values[1] = params;
            calls[i] = call;
            last = c;
        }
        UnionRule any = last.register(new UnionRule(""));
        any.branches = calls;
        return parallel ? last.register(new RepeatRule("", any, SEPARATOR)) : any;
    }
}
