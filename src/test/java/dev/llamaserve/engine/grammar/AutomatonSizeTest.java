package dev.llamaserve.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * What a string automaton costs is counted in states and transition ranges: a class of 2,000 characters repeated
 * {@code {0,1000}} has 1,001 states but 2 million ranges, and such a 6 KB request took 29 s of CPU to compile;
 * 50 classes of 100 characters held 88 MB of heap, cached. The budget refuses them, the subset construction sweeps
 * each state's ranges once, and the grammar cache is bounded by the same weight.
 */
class AutomatonSizeTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** A class of {@code n} CJK characters, every other code point from U+4E00: {@code n} ranges, not one. */
    private static String cjk(int n) {
        StringBuilder b = new StringBuilder("[");
        IntStream.range(0, n).forEach(i -> b.appendCodePoint(0x4E00 + 2 * i));
        return b.append(']').toString();
    }

    private static JsonNode strings(int properties, IntFunction<String> pattern) {
        ObjectNode props = JSON.createObjectNode();
        for (int i = 0; i < properties; i++) {
            props.set("p" + i, JSON.createObjectNode().put("type", "string").put("pattern", pattern.apply(i)));
        }
        ObjectNode schema = JSON.createObjectNode().put("type", "object");
        schema.set("properties", props);
        schema.set("required", JSON.valueToTree(IntStream.range(0, properties).mapToObj(i -> "p" + i).toList()));
        return schema.put("additionalProperties", false);
    }

    @Test
    void aClassOfThousandsOfCharactersRepeatedIsRefusedByTheBudget() {
        JsonNode request1 = strings(1, i -> "^" + cjk(2000) + "{0,1000}$");
        assertThatThrownBy(() -> new SchemaCompiler(GrammarOptions.DEFAULT).compileCached(request1))
                .isInstanceOf(UnsupportedSchemaException.class).hasMessageContaining("too large together")
                .extracting(e -> ((UnsupportedSchemaException) e).pointer()).isEqualTo("/properties/p0/pattern");
        JsonNode request2 = strings(50, i -> "^" + cjk(100 + i) + "{0,1000}$");
        assertThatThrownBy(() -> new SchemaCompiler(GrammarOptions.DEFAULT).compileCached(request2))
                .isInstanceOf(UnsupportedSchemaException.class).hasMessageContaining("too large together")
                .extracting(e -> ((UnsupportedSchemaException) e).pointer()).asString()
                .matches("/properties/p\\d+/pattern");
    }

    @Test
    void aLargeClassRepeatedFewerTimesFitsAndWeighsItsRanges() {
        SchemaCompiler compiler = new SchemaCompiler(GrammarOptions.DEFAULT);
        Grammar g = compiler.compileCached(strings(1, i -> "^" + cjk(2000) + "{0,100}$"));
        String doc = "{\"p0\":\"" + new String(Character.toChars(0x4E00 + 2 * 1999)) + "\u4E00\"}";
        assertThat(g.initialState().advance(doc.getBytes(StandardCharsets.UTF_8)).isComplete()).isTrue();
        assertThat(g.initialState().advance("{\"p0\":\"\u4E01".getBytes(StandardCharsets.UTF_8)))
                .as("a code point between two of the class").isNull();
        assertThat(compiler.cacheWeight()[0]).as("101 states of 2,000 ranges, trimmed once")
                .isGreaterThan(2 * 100 * 2000L).isLessThanOrEqualTo(SchemaCompiler.MAX_REQUEST_SIZE);
    }

    @Test
    void theCacheHoldsAtMostItsWeight() {
        long cap = 300_000;
        SchemaCompiler compiler = new SchemaCompiler(GrammarOptions.DEFAULT, cap);
        List<JsonNode> schemas = IntStream.range(0, 8).mapToObj(k -> strings(1, i -> "^" + cjk(100) + "{0," + (300 + k)
                + "}$")).toList();
        List<Grammar> grammars = new ArrayList<>();
        grammars.add(compiler.compileCached(schemas.get(0)));
        long one = compiler.cacheWeight()[0];
        assertThat(one).as("about 100 ranges in each of 3 x 301 states").isBetween(60_000L, cap / 2);
        for (JsonNode s : schemas.subList(1, schemas.size())) {
            assertThat(compiler.compileCached(schemas.get(0))).as("the first, used again, stays")
                    .isSameAs(grammars.get(0));
            grammars.add(compiler.compileCached(s));
            long[] w = compiler.cacheWeight();
            assertThat(w[0]).isLessThanOrEqualTo(cap);
            assertThat(w[1]).isLessThanOrEqualTo(cap / one);
        }
        assertThat(compiler.compileCached(schemas.get(7))).isSameAs(grammars.get(7));
        assertThat(compiler.compileCached(schemas.get(0))).isSameAs(grammars.get(0));
        assertThat(compiler.compileCached(schemas.get(1))).as("the least recently used left")
                .isNotSameAs(grammars.get(1));

        SchemaCompiler small = new SchemaCompiler(GrammarOptions.DEFAULT, one - 1);
        Grammar heavy = small.compileCached(schemas.get(0));
        assertThat(small.cacheWeight()).as("heavier than the cap: not cached").containsExactly(0L, 0L);
        assertThat(small.compileCached(schemas.get(0))).isNotSameAs(heavy);
    }

    @Test
    void theSweepBuildsTheSameAutomataAsTheFilterOverEveryRange() {
        List<String> patterns = new ArrayList<>(List.of("^abc$", "abc", "^a+b*$", "^(ab|cd){1,3}$", "^[a-c]{2}[^a-c]?$",
                "^\\d{2,}$", "\\w\\s\\d", "^x.y$", "^(?:a|b)+?c$", "^[\\-_.]+$", "^\\D\\W\\S$", "z$", "^a", "^(a|)b$",
                "^[\\x41-\\u005A]+$", "^é\\\\?\"$", "^" + cjk(50) + "{0,20}$"));
        Formats.REGEX.values().forEach(r -> patterns.add("^(?:" + r + ")$"));
        SplittableRandom r = new SplittableRandom(42);
        for (int k = 0; k < 300; k++) {
            patterns.add(randomPattern(r));
        }
        for (String p : patterns) {
            Regex regex = Regex.parse(p, "/pattern");
            Dfa swept = Dfa.fromRegex(regex, "/pattern");
            Dfa filtered = filtered(regex);
            assertThat(swept.size()).as(p).isEqualTo(filtered.size());
            for (int s = 0; s < swept.size(); s++) {
                assertThat(swept.lo[s]).as(p).containsExactly(filtered.lo[s]);
                assertThat(swept.hi[s]).as(p).containsExactly(filtered.hi[s]);
                assertThat(swept.to[s]).as(p).containsExactly(filtered.to[s]);
                assertThat(swept.accept[s]).as(p).isEqualTo(filtered.accept[s]);
            }
        }
    }

    /** Alternatives and repetitions of overlapping random classes (their ranges cut each other). */
    private static String randomPattern(SplittableRandom r) {
        String alt = IntStream.range(0, 1 + r.nextInt(4)).mapToObj(i -> {
            StringBuilder c = new StringBuilder(r.nextInt(4) == 0 ? "[^" : "[");
            for (int j = 0, n = 1 + r.nextInt(6); j < n; j++) {
                int a = 'a' + r.nextInt(20);
                int b = a + r.nextInt(6);
                c.append(String.format("\\u%04x-\\u%04x", a, b));
            }
            String[] q = {"", "*", "+", "?", "{1,3}", "{2}"};
            return c.append(']').append(q[r.nextInt(q.length)]).toString();
        }).collect(Collectors.joining("|"));
        return "^(?:" + alt + ")" + (r.nextBoolean() ? "*" : "{0,4}") + "[a-f]?$";
    }

    /** The subset construction as it was, every range filtered for every piece between two bounds. */
    private static Dfa filtered(Regex regex) {
        Nfa nfa = Nfa.of(regex, "/pattern");
        Dfa.Builder b = new Dfa.Builder("/pattern");
        Map<List<Integer>, Integer> ids = new HashMap<>();
        ArrayDeque<int[]> queue = new ArrayDeque<>();
        int[] start = nfa.closure(new int[] {nfa.start});
        ids.put(key(start), b.add(Arrays.binarySearch(start, nfa.accept) >= 0, -1));
        queue.add(start);
        while (!queue.isEmpty()) {
            int[] set = queue.poll();
            int id = ids.get(key(set));
            List<int[]> ts = new ArrayList<>();
            for (int s : set) {
                int[] rs = nfa.ranges.get(s);
                for (int i = 0; i < rs.length; i += 3) {
                    ts.add(new int[] {rs[i], rs[i + 1], rs[i + 2]});
                }
            }
            int[] bounds = ts.stream().flatMapToInt(t -> IntStream.of(t[0], t[1] + 1)).sorted().distinct().toArray();
            int[] triples = new int[Math.max(0, bounds.length - 1) * 3];
            int n = 0;
            for (int k = 0; k + 1 < bounds.length; k++) {
                int a = bounds[k];
                int z = bounds[k + 1] - 1;
                int[] targets = ts.stream().filter(t -> t[0] <= a && t[1] >= z).mapToInt(t -> t[2]).toArray();
                if (targets.length == 0) {
                    continue;
                }
                int[] next = nfa.closure(targets);
                Integer t = ids.get(key(next));
                if (t == null) {
                    t = b.add(Arrays.binarySearch(next, nfa.accept) >= 0, -1);
                    ids.put(key(next), t);
                    queue.add(next);
                }
                triples[n++] = a;
                triples[n++] = z;
                triples[n++] = t;
            }
            b.set(id, triples, n);
        }
        return b.build();
    }

    private static List<Integer> key(int[] set) {
        return Arrays.stream(set).boxed().toList();
    }
}
