package dev.llamaserve.engine.grammar;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Compiles a JSON Schema (draft 2020-12 subset) into a {@link Grammar} that generates only valid
 * instances, or refuses it with an {@link UnsupportedSchemaException} naming the keyword.
 *
 * <p><b>Enforced</b>: {@code type} (one or several), {@code properties}, {@code required},
 * {@code additionalProperties} (false, true or a schema), {@code enum}, {@code const}, {@code items},
 * {@code prefixItems}, {@code minItems}, {@code maxItems}, {@code anyOf}, {@code oneOf} (where the
 * branches are provably disjoint, see {@link Disjointness}), {@code allOf} with one schema,
 * {@code $ref} to {@code #} or {@code #/...} (recursion included; {@code $defs}/{@code definitions} are
 * compiled where referenced; nesting and chains of references bounded by {@link Compilation#MAX_DEPTH}), {@code minLength}, {@code maxLength}, {@code pattern} (the subset of
 * {@link Regex}), {@code format} date, date-time, time, uuid, email (see {@link Formats}),
 * {@code minimum}, {@code maximum}, {@code exclusiveMinimum}, {@code exclusiveMaximum} (a number range without
 * an integer is refused, naming its lower bound keyword, else the upper: see {@link NumberBounds}). Annotations
 * (title, description, default, examples, $schema, $id at the root, $comment, deprecated, readOnly,
 * writeOnly) are ignored. Anything else is refused.
 *
 * <p><b>What is generated</b> is always a subset of what the schema allows, chosen to stay small:
 * compact JSON with at most {@link GrammarOptions#maxWhitespace()} whitespace bytes per gap;
 * declared properties in schema order, required ones always, optional ones or not; extra properties
 * only where {@code additionalProperties} is a schema, or for an object schema without any
 * {@code properties} (then any keys, any values); {@code enum}/{@code const} values in their compact
 * JSON form; numbers without exponent, at most 15 integer and 9 fraction digits, no {@code -0};
 * a schema without {@code type} generates the types its keywords imply, or any value; patterns match
 * whole strings (which also satisfies the unanchored JSON Schema search). {@code enum}/{@code const} and
 * the combinators cannot be mixed with other assertions in the same schema object (refused, naming the
 * other keyword; for anyOf, oneOf or allOf next to assertions other than {@code type} alone, the combinator: see
 * {@link Compilation}). Duplicate additional keys are not prevented.
 *
 * <p>A schema that is not {@code strict} (OpenAI's default for {@code response_format} and tools) is compiled
 * without what cannot be enforced instead of being refused ({@link #compileCached(JsonNode, boolean)}): each
 * keyword refused as not enforceable ({@link UnsupportedSchemaException#relaxable()}: an unsupported keyword or
 * format, a pattern outside the regex subset, a combinator next to other assertions (where {@code type} is alone
 * next to it, the type), a keyword next to a {@code $ref} or an enum, number bounds the number rule cannot hold) is
 * left out, and a {@code oneOf} whose branches are not provably disjoint is read as {@code anyOf}, all in
 * the one compilation that builds the grammar ({@link Relaxation}). What is generated is then valid against the
 * rest; a schema that is wrong, or allows nothing, is refused either way.
 *
 * <p>Compiled grammars are cached by schema content ({@link #compileCached}): at most {@link #CACHE_SIZE}, weighing
 * at most {@link #CACHE_WEIGHT} together.
 */
public final class SchemaCompiler {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int CACHE_SIZE = 256;
    /**
     * Most automaton states plus transition ranges the cached grammars may have built together (each grammar
     * weighs what it used of {@link #MAX_REQUEST_SIZE}); the least recently used go first. A unit holds about
     * 6 bytes in automata of large classes, up to about 100 in many small automata (their ASCII tables): at
     * most about 200 MB of heap.
     */
    static final long CACHE_WEIGHT = 2_000_000;
    /**
     * Most automaton states plus transition ranges one request's grammar may build, patterns and formats of all its
     * schemas together (each automaton at most {@link Dfa#MAX_STATES} states; see {@link Dfa#withinBudget}): a state
     * costs tens of microseconds to build, and 24 patterns like {@code (X|Y)*X(X|Y){15}} (2,422 bytes) took 87 s of
     * CPU; a class of 2,000 characters repeated {@code {0,1000}} (6 KB) builds 2 million ranges.
     */
    static final long MAX_REQUEST_SIZE = 1_000_000;
    private static final Logger log = LoggerFactory.getLogger(SchemaCompiler.class);

    private final GrammarOptions options;
    private final long cacheCap;
    private final Map<String, Dfa.Budgeted<Grammar>> cache = new LinkedHashMap<>(64, 0.75f, true);
    private long cacheWeight;
    private Grammar jsonObject;

    public SchemaCompiler(GrammarOptions options) {
        this(options, CACHE_WEIGHT);
    }

    /** A compiler whose cache holds grammars of at most {@code cacheCap} states plus ranges together. */
    SchemaCompiler(GrammarOptions options, long cacheCap) {
        this.options = options;
        this.cacheCap = cacheCap;
    }

    /** Compiles {@code schema}; throws {@link UnsupportedSchemaException} for what it cannot enforce. */
    public Grammar compile(JsonNode schema) {
        return compile(schema, new Relaxation(true), "json_schema");
    }

    private Grammar compile(JsonNode schema, Relaxation relaxation, String what) {
        List<Rule> rules = new ArrayList<>();
        return finish(rules, compileInto(rules, schema, relaxation, what, options));
    }

    /**
     * Compiles {@code schema} into {@code rules}, without what {@code relaxation} leaves out (logged as a
     * {@code what}'s), and {@link #check}s it: its root rule. Each schema of a grammar is compiled once, so the
     * request's budget holds what the grammar is built of.
     */
    static Rule compileInto(List<Rule> rules, JsonNode schema, Relaxation relaxation, String what,
            GrammarOptions options) {
        int from = rules.size();
        Rule root = new Compilation(schema, options, rules, relaxation).compile(schema, "");
        check(rules.subList(from, rules.size()), root);
        List<String> leftOut = relaxation.leftOut();
        if (!leftOut.isEmpty()) {
            log.info("A {} that is not strict is enforced without what constrained decoding cannot enforce: {}",
                    what, keywordsOf(leftOut));
        }
        return root;
    }

    /** Compiles a schema given as JSON text. */
    public Grammar compile(String schemaJson) {
        return compile(JSON.readTree(schemaJson));
    }

    /** As {@link #compile(JsonNode)}, reusing the grammar of an identical schema compiled before. */
    public Grammar compileCached(JsonNode schema) {
        return cached(JSON.writeValueAsString(schema), () -> compile(schema));
    }

    /**
     * The grammar cached under {@code key}, else {@code compile}'s, then cached (compiled outside the lock) unless
     * it alone weighs more than the cache may hold; the least recently used leave while there are more than
     * {@link #CACHE_SIZE} or they weigh more than the cap.
     */
    private Grammar cached(String key, Supplier<Grammar> compile) {
        synchronized (cache) {
            Dfa.Budgeted<Grammar> g = cache.get(key);
            if (g != null) {
                return g.value();
            }
        }
        Dfa.Budgeted<Grammar> g = Dfa.withinBudget(MAX_REQUEST_SIZE, compile);
        if (g.used() <= cacheCap) {
            synchronized (cache) {
                Dfa.Budgeted<Grammar> old = cache.put(key, g);
                cacheWeight += g.used() - (old == null ? 0 : old.used());
                for (var eldest = cache.values().iterator(); cache.size() > CACHE_SIZE || cacheWeight > cacheCap; ) {
                    cacheWeight -= eldest.next().used();
                    eldest.remove();
                }
            }
        }
        return g.value();
    }

    /** The weight of the cached grammars and their number (tests). */
    long[] cacheWeight() {
        synchronized (cache) {
            return new long[] {cacheWeight, cache.size()};
        }
    }

    /**
     * As {@link #compileCached(JsonNode)} where {@code strict}; otherwise the grammar of the schema less what
     * cannot be enforced (see the class comment), the keywords left out logged once per schema by pointer.
     */
    public Grammar compileCached(JsonNode schema, boolean strict) {
        if (strict) {
            return compileCached(schema);
        }
        return cached("relaxed:" + JSON.writeValueAsString(schema), () -> relax(schema, "json_schema").grammar());
    }

    /** The grammar of a schema that is not strict, and the pointers of the keywords it goes without. */
    record Relaxed(Grammar grammar, List<String> leftOut) {}

    /**
     * What a log line says of the keywords at these pointers: each pointer's last segment where it is a JSON Schema
     * keyword ({@link Keywords#vocabulary}), else "another keyword". Property names and unknown keywords are the client's text (prompt text, for a
     * tool's schema), which logs never carry; and no client string can write a line of its own into the log.
     */
    static List<String> keywordsOf(List<String> pointers) {
        List<String> out = new ArrayList<>();
        for (String p : pointers) {
            String last = p.substring(p.lastIndexOf('/') + 1);
            out.add(Keywords.vocabulary(last) ? last : "another keyword");
        }
        return out;
    }

    /**
     * Compiles {@code schema} as not strict, in one pass: without every keyword it cannot enforce (see
     * {@link Relaxation}), which it logs by keyword name.
     */
    Relaxed relax(JsonNode schema, String what) {
        Relaxation relaxation = new Relaxation(false);
        Grammar g = compile(schema, relaxation, what);
        return new Relaxed(g, relaxation.leftOut());
    }

    /** {@link #toolCalls(List, List, List, boolean)} with every function strict. */
    public Grammar toolCalls(List<String> names, List<JsonNode> parameters, boolean parallel) {
        return toolCalls(names, parameters, Collections.nCopies(names.size(), true), parallel);
    }

    /**
     * Tool calls naming one of {@code names} with arguments valid against the matching {@code parameters}
     * schema, one call or (with {@code parallel}) one or more separated by {@code "; "} (see
     * {@link ToolCallGrammar}); cached by content like schemas. A function that is not {@code strict} has its
     * parameters schema relaxed as {@link #compileCached(JsonNode, boolean)} relaxes one.
     *
     * @throws UnsupportedSchemaException with {@link UnsupportedSchemaException#function()} set
     */
    public Grammar toolCalls(List<String> names, List<JsonNode> parameters, List<Boolean> strict, boolean parallel) {
        String key = "tools:" + functionsKey(names, parameters, strict, parallel);
        return cached(key, () -> ToolCallGrammar.build(names, parameters, strict, false, parallel, options));
    }

    /** The cache key of a set of functions (checked: one parameters schema and strict flag per name, one or more). */
    private static String functionsKey(List<String> names, List<JsonNode> parameters, List<Boolean> strict,
            boolean parallel) {
        if (names.isEmpty() || names.size() != parameters.size() || names.size() != strict.size()) {
            throw new IllegalArgumentException("one parameters schema and strict flag per function name, at least one");
        }
        return parallel + ":" + strict + ":" + JSON.writeValueAsString(names) + JSON.writeValueAsString(parameters);
    }

    /**
     * Tool calls as {@link #toolCalls(List, List, List, boolean)} or an answer: a document valid against
     * {@code answer} (relaxed where not {@code answerStrict}), or any JSON object where {@code answer} is null.
     * What the model may write under tool_choice auto when the answer has a format. A parameters schema that is
     * not strict and cannot be enforced takes any object; an answer schema that cannot is refused with
     * {@link UnsupportedSchemaException#function()} -1.
     */
    public Grammar toolCallsOrAnswer(List<String> names, List<JsonNode> parameters, List<Boolean> strict,
            boolean parallel, JsonNode answer, boolean answerStrict) {
        String key = "tools-or:" + functionsKey(names, parameters, strict, parallel) + ":" + answerStrict + ":"
                + (answer == null ? "object" : JSON.writeValueAsString(answer));
        return cached(key, () -> callsOrAnswer(names, parameters, strict, parallel, answer, answerStrict));
    }

    /**
     * The calls of {@link #toolCallsOrAnswer} alone, their parameters enforced as there: what tells that grammar's
     * output apart once written. Where this grammar allows it (or its beginning, where it was cut), the calls branch
     * wrote it; where not, only the answer could have, even where it looks like calls (an answer schema with "name"
     * and "parameters" properties).
     *
     * @throws UnsupportedSchemaException where no call is possible (every function's parameters allow nothing)
     */
    public Grammar callsOfToolCallsOrAnswer(List<String> names, List<JsonNode> parameters, List<Boolean> strict,
            boolean parallel) {
        String key = "tools-or-calls:" + functionsKey(names, parameters, strict, parallel);
        return cached(key, () -> ToolCallGrammar.build(names, parameters, strict, true, parallel, options));
    }

    private Grammar callsOrAnswer(List<String> names, List<JsonNode> parameters, List<Boolean> strict,
            boolean parallel, JsonNode answer, boolean answerStrict) {
        List<Rule> rules = new ArrayList<>();
        Compilation glue = new Compilation(JSON.createObjectNode(), options, rules);
        Rule doc = answer == null ? glue.anyObject()
                : compileInto(rules, answer, new Relaxation(answerStrict), "json_schema", options);
        List<Rule> arguments = new ArrayList<>();
        Rule calls = ToolCallGrammar.root(rules, names, parameters, strict, true, parallel, options, arguments);
        UnionRule either = glue.register(new UnionRule(""));
        either.branches = new Rule[] {calls, doc};
        Grammar g = finish(rules, either);
        ToolCallGrammar.requireObjects(arguments);
        return g;
    }

    /** Any JSON object: {@code response_format} {@code {"type":"json_object"}}. */
    public synchronized Grammar jsonObject() {
        if (jsonObject == null) {
            Compilation c = new Compilation(JSON.createObjectNode(), options);
            jsonObject = finish(c.rules, c.anyObject());
        }
        return jsonObject;
    }

    /** The grammar of {@code rules} from {@code root}, {@link #check}ed, then linked. */
    static Grammar finish(List<Rule> rules, Rule root) {
        check(rules, root);
        List<Rule> keys = new ArrayList<>();
        ObjectRule.KeyBudget budget = new ObjectRule.KeyBudget();
        for (Rule r : rules) {
            if (r instanceof UnionRule u) {
                u.prune();
            } else if (r instanceof ObjectRule o) {
                o.link(o.pointer, budget);
                keys.addAll(o.keyRules());
            }
        }
        for (Rule k : keys) {
            k.id = rules.size();
            k.productive = true;
            rules.add(k);
        }
        List<Rule> unions = new ArrayList<>();
        for (Rule r : rules) {
            if (r instanceof UnionRule) {
                unions.add(r);
            } else {
                r.computeFirst();
            }
        }
        Map<Rule, Boolean> done = new HashMap<>();
        for (Rule u : unions) {
            firstInOrder(u, done);
        }
        for (Rule r : rules) {
            if (r instanceof RepeatRule) { // calls a union at its start: after the unions
                r.computeFirst();
            }
        }
        return new Grammar(root, rules.size());
    }

    /**
     * Refuses a union of {@code rules} that calls itself before a byte is read, and a {@code root} that derives no
     * finite value; marks the rules that derive one ({@link Rule#productive}). A schema's rules call only one
     * another, so they are checked on their own before other rules join them in a grammar.
     */
    static void check(List<Rule> rules, Rule root) {
        for (Rule r : rules) {
            if (r instanceof UnionRule u) {
                checkNotLeftRecursive(u, new HashMap<>());
            }
        }
        boolean changed = true;
        while (changed) {
            changed = false;
            for (Rule r : rules) {
                if (!r.productive && r.computeProductive()) {
                    r.productive = true;
                    changed = true;
                }
            }
        }
        if (!root.productive) {
            throw new UnsupportedSchemaException("", "the schema allows no finite JSON value");
        }
    }

    /** A union reaching itself through unions only would call itself without reading a byte. */
    private static void checkNotLeftRecursive(UnionRule u, Map<Rule, Boolean> onPath) {
        if (Boolean.TRUE.equals(onPath.get(u))) {
            throw new UnsupportedSchemaException(u.pointer,
                    "a reference cycle that reads nothing before recursing (left recursion)");
        }
        if (onPath.containsKey(u)) {
            return;
        }
        onPath.put(u, true);
        for (Rule b : u.branches) {
            if (b instanceof UnionRule ub) {
                checkNotLeftRecursive(ub, onPath);
            }
        }
        onPath.put(u, false);
    }

    private static void firstInOrder(Rule u, Map<Rule, Boolean> done) {
        if (done.containsKey(u)) {
            return;
        }
        done.put(u, true);
        for (Rule b : ((UnionRule) u).branches) {
            if (b instanceof UnionRule) {
                firstInOrder(b, done);
            }
        }
        u.computeFirst();
    }
}
