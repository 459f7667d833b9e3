package dev.llamaserve.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The matcher and the mask: json_object mode, recursion, EOS, brute-force equality of masks, caching. */
class GrammarMatcherTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private final SchemaCompiler compiler = new SchemaCompiler(GrammarOptions.DEFAULT);

    @Test
    void jsonObjectModeAlwaysYieldsAnObject() {
        Grammar g = compiler.jsonObject();
        int finished = 0;
        for (long seed = 0; seed < 40; seed++) {
            GrammarFixtures.Mode mode = GrammarFixtures.Mode.values()[(int) (seed % 3)];
            GrammarFixtures.Output out = GrammarFixtures.generate(g, seed, mode, 300);
            if (!out.ended()) {
                out = GrammarFixtures.resume(out, seed + 99, GrammarFixtures.Mode.CLOSING, 2000);
            }
            if (out.ended()) {
                finished++;
                JsonNode parsed = JSON.readTree(out.text());
                assertThat(parsed.isObject()).as(out.text()).isTrue();
            }
            assertThat(out.text()).startsWith("{");
        }
        assertThat(finished).isGreaterThan(20);
    }

    @Test
    void recursiveTreeTerminatesAndValidates() {
        String schema = """
                {"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},
                 "kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v","kids"],
                 "additionalProperties":false}},"$ref":"#/$defs/node"}""";
        Grammar g = compiler.compile(schema);
        int finished = 0;
        for (long seed = 0; seed < 20; seed++) {
            GrammarFixtures.Output out = GrammarFixtures.generate(g, seed, GrammarFixtures.Mode.CLOSING, 2000);
            if (out.ended()) {
                finished++;
                SchemaCorpusTest.assertValid(JSON.readTree(schema), out.text());
            }
        }
        assertThat(finished).isGreaterThan(10);
    }

    /** const and enum together keep the enum's values equal to const as JSON Schema compares them (1.0 is 1). */
    @Test
    void constWithinAnEnumComparesNumbersByValue() {
        GrammarState s = compiler.compile("{\"enum\":[1,2],\"const\":1.0}").initialState();
        GrammarState one = s.advance("1".getBytes(StandardCharsets.UTF_8));
        assertThat(one).isNotNull();
        assertThat(one.isComplete()).isTrue();
        assertThat(s.advance("2".getBytes(StandardCharsets.UTF_8))).isNull();
    }

    @Test
    void endOfSequenceOnlyWhenComplete() {
        Grammar g = compiler.compile("{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":2}");
        int[] eos = GrammarFixtures.eos();
        TokenMasker m = GrammarFixtures.masker();
        GrammarState s = g.initialState();
        for (String prefix : List.of("", "[", "[1", "[1,", "[1,2", "[1,2]")) {
            GrammarState at = s.advance(prefix.getBytes(StandardCharsets.UTF_8));
            boolean eosAllowed = (m.mask(at)[eos[0] >>> 6] & (1L << eos[0])) != 0;
            assertThat(eosAllowed).as(prefix).isEqualTo(prefix.equals("[1,2]"));
            assertThat(at.isComplete()).isEqualTo(prefix.equals("[1,2]"));
        }
        assertThat(s.advance("[1]".getBytes(StandardCharsets.UTF_8))).as("minItems 2").isNull();
        assertThat(s.advance("[1]]".getBytes(StandardCharsets.UTF_8))).isNull();
        GrammarMatcher matcher = m.matcher(g);
        assertThat(matcher.accept(eos[0])).isFalse();
        assertThat(matcher.isEnded()).isFalse();
    }

    /** Random reachable states of several grammars: the trie walk equals checking every token alone. */
    @Test
    void maskEqualsBruteForceOnRandomStates() {
        TokenMasker m = GrammarFixtures.masker();
        TokenVocabulary v = GrammarFixtures.vocab();
        int[] eos = GrammarFixtures.eos();
        List<Grammar> grammars = new ArrayList<>();
        grammars.add(compiler.jsonObject());
        for (JsonNode e : SchemaCorpusTest.corpus()) {
            grammars.add(compiler.compile(e.get("schema")));
        }
        SplittableRandom random = new SplittableRandom(7);
        int checked = 0;
        grammars.add(compiler.compile("{\"type\":\"string\",\"minLength\":30,\"maxLength\":60}"));
        grammars.add(compiler.compile("{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\","
                + "\"pattern\":\"^[a-c ]*$\",\"maxLength\":40}}"));
        for (int round = 0; round < 12; round++) {
            grammars.add(grammars.get(grammars.size() - 2));
            grammars.add(grammars.get(grammars.size() - 2));
        }
        for (int gi = 0; gi < grammars.size(); gi += 3) {
            GrammarMatcher matcher = m.matcher(grammars.get(gi));
            int steps = random.nextInt(gi >= grammars.size() - 26 ? 70 : 40);
            for (int k = 0; k < steps && !matcher.isEnded(); k++) {
                long[] allowed = matcher.allowedTokens();
                int n = 0;
                for (long w : allowed) {
                    n += Long.bitCount(w);
                }
                int t = GrammarFixtures.nthSetBit(allowed, random.nextInt(n));
                if (isEos(t, eos)) {
                    break;
                }
                matcher.accept(t);
            }
            GrammarState state = matcher.state();
            long[] mask = m.compute(state);
            long[] cached = m.mask(state); // through the cache, keyed by the canonical state
            for (int id = 0; id < v.size(); id++) {
                byte[] b = v.tokenBytes(id);
                boolean expected = b.length > 0 ? state.advance(b) != null : isEos(id, eos) && state.isComplete();
                assertThat((mask[id >>> 6] & (1L << id)) != 0).as("token %s", id).isEqualTo(expected);
                assertThat((cached[id >>> 6] & (1L << id)) != 0).as("cached, token %s", id).isEqualTo(expected);
            }
            checked++;
        }
        assertThat(checked).isGreaterThan(40);
    }

    private static boolean isEos(int id, int[] eos) {
        for (int e : eos) {
            if (e == id) {
                return true;
            }
        }
        return false;
    }

    @Test
    void statesCompareByValueAndMasksAreCached() {
        Grammar g = compiler.compile("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}");
        GrammarState a = g.initialState().advance("{\"a\":\"xy".getBytes(StandardCharsets.UTF_8));
        GrammarState b = g.initialState().advance("{\"a\":\"x".getBytes(StandardCharsets.UTF_8)).advance('y');
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b).isNotSameAs(b);
        TokenMasker m = GrammarFixtures.masker();
        assertThat(m.mask(a)).isSameAs(m.mask(b));
        assertThat(g.initialState().advance("{\"a\":\"xz".getBytes(StandardCharsets.UTF_8))).isEqualTo(a);
        assertThat(g.initialState().advance("{\"a\":".getBytes(StandardCharsets.UTF_8))).isNotEqualTo(a);
    }

    @Test
    void boundedStringStatesShareAMaskFarFromTheBound() {
        Grammar g = compiler.compile("{\"type\":\"string\",\"maxLength\":1000}");
        TokenMasker m = GrammarFixtures.masker();
        GrammarState at3 = g.initialState().advance("\"abc".getBytes(StandardCharsets.UTF_8));
        GrammarState at5 = g.initialState().advance("\"abcde".getBytes(StandardCharsets.UTF_8));
        GrammarState near = g.initialState().advance(("\"" + "x".repeat(999)).getBytes(StandardCharsets.UTF_8));
        assertThat(at3).isNotEqualTo(at5);
        assertThat(m.mask(at3)).isSameAs(m.mask(at5)).isNotEqualTo(m.mask(near));
    }

    @Test
    void compiledSchemasAreCachedByContent() {
        JsonNode s1 = JSON.readTree("{\"type\":\"integer\",\"minimum\":3}");
        JsonNode s2 = JSON.readTree("{\"type\":\"integer\",\"minimum\":3}");
        JsonNode s3 = JSON.readTree("{\"type\":\"integer\",\"minimum\":4}");
        assertThat(compiler.compileCached(s1)).isSameAs(compiler.compileCached(s2)).isNotSameAs(compiler.compileCached(s3));
    }

    @Test
    void invalidUtf8AndUnescapedControlsAreRejectedInStrings() {
        GrammarState s = compiler.compile("{\"type\":\"string\"}").initialState().advance('"');
        assertThat(s.advance(0xC0)).as("overlong lead").isNull();
        assertThat(s.advance(new byte[] {(byte) 0xED, (byte) 0xA0})).as("surrogate").isNull();
        assertThat(s.advance(new byte[] {(byte) 0xF4, (byte) 0x90})).as("above U+10FFFF").isNull();
        assertThat(s.advance('\n')).as("raw newline").isNull();
        assertThat(s.advance("\\uD800".getBytes(StandardCharsets.UTF_8))).as("escaped surrogate").isNull();
        assertThat(s.advance("\\u00e9\\n\u00e9\"".getBytes(StandardCharsets.UTF_8)).isComplete()).isTrue();
    }

    @Test
    void whitespaceIsBounded() {
        Grammar g = new SchemaCompiler(new GrammarOptions(2)).jsonObject();
        assertThat(g.initialState().advance("{  \"a\"  :  1  }".getBytes(StandardCharsets.UTF_8)).isComplete()).isTrue();
        assertThat(g.initialState().advance("{   ".getBytes(StandardCharsets.UTF_8))).isNull();
        assertThat(compiler.jsonObject().initialState().advance(" ".getBytes(StandardCharsets.UTF_8))).isNull();
        assertThat(new SchemaCompiler(new GrammarOptions(0)).jsonObject().initialState()
                .advance("{ ".getBytes(StandardCharsets.UTF_8))).isNull();
    }
}
