package dev.llamaserve.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.engine.testing.LogCapture;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * A schema that is not strict (OpenAI's default) goes without the keywords constrained decoding cannot enforce,
 * and the rest is enforced: what is generated is valid against the schema less those keywords. A strict one is
 * refused as before, and a wrong schema, or one that allows nothing, is refused either way.
 */
class SchemaRelaxationTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private final SchemaCompiler compiler = new SchemaCompiler(GrammarOptions.DEFAULT);

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '§', textBlock = """
            {"type":"object","properties":{"u":{"type":"string","format":"uri"}},"required":["u"]} § /properties/u/format § {"u":"x"} § {"u":1}
            {"type":"array","items":{"type":"integer"},"uniqueItems":true} § /uniqueItems § [1,1] § ["a"]
            {"type":"integer","multipleOf":5} § /multipleOf § 3 § 3.5
            {"type":"object","properties":{"a":{"type":"string"}},"patternProperties":{"^x":{}},"additionalProperties":false} § /patternProperties § {"a":"b"} § {"y":1}
            {"oneOf":[{"type":"string"},{"type":"string","maxLength":2}]} § /oneOf § "abc" § 1
            {"type":"number","minimum":0.1,"maximum":0.2} § /minimum § 5 § "5"
            {"type":"object","properties":{"confidence":{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1}},"required":["confidence"],"additionalProperties":false} § /properties/confidence/exclusiveMinimum § {"confidence":5} § {"confidence":"5"}
            {"type":"number","exclusiveMaximum":0.5,"minimum":0.25} § /minimum § 5 § "5"
            {"type":"number","exclusiveMaximum":0.5,"exclusiveMinimum":0.25,"maximum":0.75} § /exclusiveMinimum § 5 § "5"
            {"$ref":"#/$defs/a","maxLength":3,"$defs":{"a":{"type":"string"}}} § /maxLength § "abcd" § 4
            {"type":"string","pattern":"(a)\\\\1"} § /pattern § "zz" § 1
            {"not":{"type":"string"}} § /not § "s" § -
            """)
    void notStrictGoesWithoutWhatCannotBeEnforced(String schema, String leftOut, String nowAllowed, String stillRefused) {
        JsonNode s = JSON.readTree(schema);
        assertThatThrownBy(() -> compiler.compile(s)).isInstanceOfSatisfying(UnsupportedSchemaException.class,
                e -> assertThat(e.relaxable()).as(e.getMessage()).isTrue());
        assertThatThrownBy(() -> compiler.compileCached(s, true)).isInstanceOf(UnsupportedSchemaException.class);

        SchemaCompiler.Relaxed r = compiler.relax(s, "json_schema");
        assertThat(r.leftOut()).contains(leftOut);
        Grammar g = compiler.compileCached(s, false);
        assertThat(GrammarFixtures.accepts(g, nowAllowed)).as("%s without %s", nowAllowed, leftOut).isTrue();
        if (!stillRefused.equals("-")) {
            assertThat(GrammarFixtures.accepts(g, stillRefused)).as("%s: the rest is still enforced", stillRefused).isFalse();
        }
        assertThat(s.toString()).as("the request's schema is not changed").isEqualTo(JSON.readTree(schema).toString());
    }

    /**
     * A format whose generated subset has no string the other keywords allow (leap days, hostnames over 3 labels'
     * length) is not enforceable at /format: refused naming it where strict, left out where not. It was refused as
     * a schema allowing nothing, strict or not.
     */
    @Test
    void aFormatWhoseGeneratedSubsetTheOtherKeywordsEmptyIsLeftOut() {
        String longName = "\"" + "a".repeat(60) + ".b" + ".c".repeat(80) + "\"";
        for (String[] c : new String[][] {
                {"{\"type\":\"string\",\"format\":\"date\",\"pattern\":\"-02-29$\"}", "\"2024-02-29\"", "\"2024-02-28\""},
                {"{\"type\":\"string\",\"format\":\"hostname\",\"minLength\":200}", longName, "\"example.com\""}}) {
            JsonNode s = JSON.readTree(c[0]);
            assertThatThrownBy(() -> compiler.compileCached(s, true)).isInstanceOfSatisfying(
                    UnsupportedSchemaException.class, e -> assertThat(e.pointer()).as(e.getMessage()).isEqualTo("/format"));
            Grammar g = compiler.compileCached(s, false);
            assertThat(GrammarFixtures.accepts(g, c[1])).as(c[1]).isTrue();
            assertThat(GrammarFixtures.accepts(g, c[2])).as("%s: the rest is still enforced", c[2]).isFalse();
        }
    }

    /** A pattern with an escaped surrogate pair (one code point, as ajv reads it) was refused as allowing nothing. */
    @Test
    void anEscapedSurrogatePairInAPatternIsOneCodePoint() {
        Grammar g = compiler.compileCached(JSON.readTree("{\"type\":\"string\",\"pattern\":\"^\\\\uD83D\\\\uDE00$\"}"), true);
        assertThat(GrammarFixtures.accepts(g, "\"\uD83D\uDE00\"")).isTrue();
        assertThat(GrammarFixtures.accepts(g, "\"a\"")).isFalse();
    }

    /** Property names and unknown keywords are the prompt's text (a tool's schema is rendered into it): never logged. */
    @Test
    void whatWasLeftOutIsLoggedByKeywordNameOnly() {
        try (LogCapture log = LogCapture.of(SchemaCompiler.class)) {
            JsonNode s = JSON.readTree("""
                    {"type":"object","properties":{"ZQXJ patient John Doe\\n2026 ERROR FORGED":{"type":"string",                    "format":"x"},"b":{"type":"integer","multipleOf":3}},"ZQXJ-kw":1}""");
            SchemaCompiler.Relaxed r = compiler.relax(s, "json_schema");
            assertThat(r.leftOut()).hasSize(3);
            assertThat(log.text()).contains("format").contains("multipleOf").contains("another keyword").doesNotContain("ZQXJ").doesNotContain("\n");
        }
        assertThat(SchemaCompiler.keywordsOf(List.of("/properties/x~1y/pattern", "/ZQXJ-kw", "/$defs/ZQXJ")))
                .containsExactly("pattern", "another keyword", "another keyword");
    }

    /** Generated from a relaxed schema, documents are valid against what is left of it (networknt). */
    @Test
    void generatedDocumentsAreValidAgainstTheRest() {
        JsonNode s = JSON.readTree("""
                {"type":"object","properties":{
                  "site":{"type":"string","format":"uri","maxLength":12},
                  "tags":{"type":"array","items":{"enum":["a","b"]},"uniqueItems":true,"maxItems":3},
                  "n":{"type":"integer","minimum":0,"maximum":9,"multipleOf":3},
                  "v":{"oneOf":[{"type":"integer"},{"type":"number"}]}},
                 "required":["site","tags","n","v"],"additionalProperties":false}""");
        SchemaCompiler.Relaxed r = compiler.relax(s, "json_schema");
        assertThat(r.leftOut()).containsExactlyInAnyOrder("/properties/site/format", "/properties/tags/uniqueItems",
                "/properties/n/multipleOf", "/properties/v/oneOf");
        int complete = 0;
        for (long seed = 0; seed < 12; seed++) {
            GrammarFixtures.Output out = GrammarFixtures.generate(r.grammar(), seed, GrammarFixtures.Mode.CLOSING, 200);
            if (out.ended()) {
                complete++;
                assertThat(GrammarFixtures.validate(GrammarFixtures.without(s, r.leftOut()), out.text()))
                        .as(out.text()).isEmpty();
            }
        }
        assertThat(complete).isPositive();
    }

    /**
     * Every keyword that cannot be enforced is left out in one compilation, however many there are: a hundred
     * properties with a multipleOf each compile where not strict, and the first is named where strict.
     */
    @Test
    void aHundredKeywordsThatCannotBeEnforcedAreAllLeftOut() {
        ObjectNode properties = JSON.createObjectNode();
        for (int i = 0; i < 100; i++) {
            properties.set("n" + i, JSON.createObjectNode().put("type", "integer").put("multipleOf", 3));
        }
        ObjectNode s = JSON.createObjectNode().put("type", "object");
        s.set("properties", properties);
        s.set("required", JSON.valueToTree(List.of("n0", "n99")));
        assertThatThrownBy(() -> compiler.compileCached(s, true)).isInstanceOfSatisfying(
                UnsupportedSchemaException.class, e -> assertThat(e.pointer()).isEqualTo("/properties/n0/multipleOf"));

        SchemaCompiler.Relaxed r = compiler.relax(s, "json_schema");
        assertThat(r.leftOut()).hasSize(100).contains("/properties/n0/multipleOf", "/properties/n99/multipleOf");
        Grammar g = compiler.compileCached(s, false);
        assertThat(GrammarFixtures.accepts(g, "{\"n0\":1,\"n50\":2,\"n99\":4}")).isTrue();
        assertThat(GrammarFixtures.accepts(g, "{\"n0\":1,\"n99\":\"4\"}")).as("the rest is still enforced").isFalse();
    }

    /**
     * Next to assertions of its own (properties, required, additionalProperties, ...), a combinator is what is left
     * out, and the object's structure stays; where not strict, "a or b" beside the properties is enforced as the
     * properties. It was the other way round: type, properties and additionalProperties went, one after another, and
     * the anyOf of two required lists let any object with an "a" or a "b" of any value through.
     */
    @Test
    void nextToItsOwnAssertionsTheCombinatorIsLeftOut() {
        for (String combinator : new String[] {"anyOf", "oneOf", "allOf"}) {
            String branches = combinator.equals("allOf") ? "[{\"required\":[\"a\"]}]"
                    : "[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]";
            JsonNode s = JSON.readTree("""
                    {"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},
                     "additionalProperties":false,"%s":%s}""".formatted(combinator, branches));
            assertThatThrownBy(() -> compiler.compileCached(s, true)).isInstanceOfSatisfying(
                    UnsupportedSchemaException.class, e -> assertThat(e.pointer()).isEqualTo("/" + combinator));
            SchemaCompiler.Relaxed r = compiler.relax(s, "json_schema");
            assertThat(r.leftOut()).containsExactly("/" + combinator);
            Grammar g = r.grammar();
            assertThat(GrammarFixtures.accepts(g, "{\"a\":\"x\",\"b\":1}")).as(combinator).isTrue();
            assertThat(GrammarFixtures.accepts(g, "{\"a\":1}")).as("%s: properties are enforced", combinator).isFalse();
            assertThat(GrammarFixtures.accepts(g, "{\"c\":\"x\"}")).as("%s: no other property", combinator).isFalse();
        }
    }

    /**
     * A oneOf's branches are judged disjoint as they are compiled: a branch whose anyOf is left out (maxLength is
     * next to it) generates strings, as the other branch does, so the oneOf is read as anyOf. Judged by its anyOf
     * (null) it was disjoint from the string branch, and "abc" was valid against both.
     */
    @Test
    void aOneOfIsJudgedByItsBranchesAsCompiled() {
        JsonNode s = JSON.readTree("""
                {"oneOf":[{"type":"string","maxLength":5,"anyOf":[{"type":"null"}]},{"type":"string"}]}""");
        SchemaCompiler.Relaxed r = compiler.relax(s, "json_schema");
        assertThat(r.leftOut()).containsExactlyInAnyOrder("/oneOf", "/oneOf/0/anyOf");
        assertThat(GrammarFixtures.accepts(r.grammar(), "\"abc\"")).isTrue();
        JsonNode rest = GrammarFixtures.without(s, r.leftOut());
        assertThat(GrammarFixtures.validate(rest, "\"abc\"")).as(rest.toString()).isEmpty();
    }

    /**
     * Next to type alone, type is what is left out: the branches say what they generate, and type beside a union
     * of objects (an OpenAPI habit) would otherwise leave any object.
     */
    @Test
    void nextToTypeAloneTheCombinatorStays() {
        JsonNode s = JSON.readTree("""
                {"type":"object","anyOf":[
                  {"properties":{"kind":{"const":"a"},"n":{"type":"integer"}},"required":["kind","n"],"additionalProperties":false},
                  {"properties":{"kind":{"const":"b"}},"required":["kind"],"additionalProperties":false}]}""");
        assertThatThrownBy(() -> compiler.compileCached(s, true)).isInstanceOfSatisfying(
                UnsupportedSchemaException.class, e -> assertThat(e.pointer()).isEqualTo("/type"));
        SchemaCompiler.Relaxed r = compiler.relax(s, "json_schema");
        assertThat(r.leftOut()).containsExactly("/type");
        assertThat(GrammarFixtures.accepts(r.grammar(), "{\"kind\":\"a\",\"n\":1}")).isTrue();
        assertThat(GrammarFixtures.accepts(r.grammar(), "{\"kind\":\"a\"}")).as("the branches are enforced").isFalse();
    }

    /**
     * The request's budget of automaton states and ranges holds what the grammar is built of, not every compilation
     * relaxing tries: a string of at most 100,000 code points (600,000 of the 1,000,000) before a keyword that is
     * left out compiles where not strict; two such strings are too large together, strict or not.
     */
    @Test
    void theBudgetHoldsTheGrammarBuiltNotEachTry() {
        Grammar g = compiler.compileCached(longStringsThenMultipleOf(1), false);
        assertThat(GrammarFixtures.accepts(g, "{\"s0\":\"a\",\"n\":4}")).isTrue();
        for (boolean strict : new boolean[] {true, false}) {
            assertThatThrownBy(() -> compiler.compileCached(longStringsThenMultipleOf(2), strict))
                    .as("strict: %s", strict).isInstanceOf(UnsupportedSchemaException.class)
                    .hasMessageContaining("too large together");
        }
    }

    /**
     * A tool's parameters schema is compiled once, into the grammar of the calls, strict or not: one that is not
     * strict was compiled to relax it, then again for the calls, both charged to the request's budget.
     */
    @Test
    void aToolsParametersAreChargedOnce() {
        String call = "{\"name\": \"f\", \"parameters\": {\"s0\": \"a\", \"n\": 4}}";
        Grammar g = compiler.toolCalls(List.of("f"), List.of(longStringsThenMultipleOf(1)), List.of(false), false);
        assertThat(GrammarFixtures.accepts(g, call)).isTrue();
        assertThat(GrammarFixtures.accepts(g, call.replace("4", "\"4\""))).as("the rest is still enforced").isFalse();
        assertThatThrownBy(() -> compiler.toolCalls(List.of("f"), List.of(longStringsThenMultipleOf(2)),
                List.of(false), false)).isInstanceOfSatisfying(UnsupportedSchemaException.class, e -> {
                    assertThat(e.function()).isZero();
                    assertThat(e.getMessage()).contains("too large together");
                });
    }

    /** An object of {@code strings} required strings of at most 100,000 code points, then an integer multipleOf 3. */
    static JsonNode longStringsThenMultipleOf(int strings) {
        ObjectNode properties = JSON.createObjectNode();
        for (int i = 0; i < strings; i++) {
            properties.set("s" + i, JSON.createObjectNode().put("type", "string").put("maxLength", 100_000));
        }
        properties.set("n", JSON.createObjectNode().put("type", "integer").put("multipleOf", 3));
        ObjectNode s = JSON.createObjectNode().put("type", "object");
        s.set("properties", properties);
        s.set("required", JSON.valueToTree(List.of("s0", "n")));
        return s;
    }

    @ParameterizedTest
    @CsvSource(delimiter = '§', textBlock = """
            {"type":"strng"}
            {"type":"integer","minimum":"3"}
            {"type":"object","properties":{"a":{"type":"string","minLength":3,"maxLength":2}},"required":["a"]}
            false
            {"$ref":"#/$defs/missing"}
            {"allOf":[{"type":"integer"},{"minimum":3}]}
            """)
    void aWrongSchemaOrOneThatAllowsNothingIsRefusedStrictOrNot(String schema) {
        JsonNode s = JSON.readTree(schema);
        assertThatThrownBy(() -> compiler.compileCached(s, false)).isInstanceOfSatisfying(
                UnsupportedSchemaException.class, e -> assertThat(e.relaxable()).as(e.getMessage()).isFalse());
    }

    /** Tool calls: a function that is not strict has its parameters relaxed; a strict one is refused by index. */
    @Test
    void toolParametersRelaxPerFunction() {
        JsonNode uri = JSON.readTree("{\"type\":\"object\",\"properties\":{\"u\":{\"type\":\"string\",\"format\":\"uri\"}},"
                + "\"required\":[\"u\"],\"additionalProperties\":false}");
        JsonNode none = JSON.readTree("{\"type\":\"object\",\"properties\":{}}");
        Grammar g = compiler.toolCalls(List.of("open", "list"), List.of(uri, none), List.of(false, true), false);
        assertThat(GrammarFixtures.accepts(g, "{\"name\": \"open\", \"parameters\": {\"u\": \"x\"}}")).isTrue();
        assertThat(GrammarFixtures.accepts(g, "{\"name\": \"open\", \"parameters\": {\"u\": 1}}")).isFalse();
        assertThatThrownBy(() -> compiler.toolCalls(List.of("list", "open"), List.of(none, uri), List.of(false, true),
                false)).isInstanceOfSatisfying(UnsupportedSchemaException.class, e -> {
                    assertThat(e.function()).isEqualTo(1);
                    assertThat(e.pointer()).isEqualTo("/properties/u/format");
                });
    }
}
