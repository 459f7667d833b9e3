package dev.llamaserve.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What a schema may cost: the key automata of an object hold the names that may come at each position, so many
 * optional properties grew quadratically (2,000 short optional names held over a GB of heap per request, and four
 * such requests ended the server). They are bounded per schema; required properties (OpenAI's strict form) and
 * optional ones without additional properties stay cheap.
 */
class SchemaSizeTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final SchemaCompiler compiler = new SchemaCompiler(GrammarOptions.DEFAULT);

    private static String object(int n, boolean required, boolean additional) {
        String props = IntStream.range(0, n).mapToObj(i -> "\"p" + i + "\":{\"type\":\"string\"}")
                .collect(Collectors.joining(","));
        String req = required ? ",\"required\":[" + IntStream.range(0, n).mapToObj(i -> "\"p" + i + "\"")
                .collect(Collectors.joining(",")) + "]" : "";
        return "{\"type\":\"object\",\"properties\":{" + props + "}" + req + ",\"additionalProperties\":" + additional
                + "}";
    }

    @Test
    void manyOptionalPropertiesWithAdditionalOnesAreRefusedBeforeTheyAreBuilt() {
        assertThatThrownBy(() -> compiler.compile(object(2000, false, true)))
                .isInstanceOf(UnsupportedSchemaException.class)
                .hasMessageContaining("too many optional properties").hasMessageContaining("200000");
    }

    /**
     * Each pattern is bounded (200,000 states), and so are all of one request's together: 24 patterns whose automata
     * need 2^16 states each took 87 s of CPU in one 2,422-byte request.
     */
    @Test
    void theStringAutomataOfOneRequestAreBoundedTogether() {
        String costly = "{\"type\":\"string\",\"pattern\":\"^(X|Y)*X(X|Y){15}$\"}";
        assertThat(compiler.compileCached(JSON.readTree(costly)))
                .as("one such pattern fits").isNotNull();
        String many = "{\"type\":\"object\",\"properties\":{" + IntStream.range(0, 24)
                .mapToObj(i -> "\"p" + i + "\":{\"type\":\"string\",\"pattern\":\"^(X|Y)*X(X|Y){" + (15 + i % 2)
                        + "}" + "Z".repeat(i) + "$\"}")
                .collect(Collectors.joining(",")) + "},\"required\":[\"p0\"]}";
        assertThatThrownBy(() -> compiler.compileCached(JSON
                .readTree(many))).isInstanceOf(UnsupportedSchemaException.class)
                .hasMessageContaining("too large together");
        // an ordinary form of many formatted fields stays well within the bound
        String form = "{\"type\":\"object\",\"properties\":{" + IntStream.range(0, 40)
                .mapToObj(i -> "\"f" + i + "\":{\"type\":\"string\",\"format\":\""
                        + new String[] {"email", "date-time", "uuid", "hostname", "ipv6", "duration"}[i % 6] + "\"}")
                .collect(Collectors.joining(",")) + "}}";
        assertThat(compiler.compileCached(JSON.readTree(form)))
                .isNotNull();
    }

    /**
     * A oneOf's branches are walked through their anyOf and $ref to judge them disjoint: shared schemas are walked
     * once (per depth), for a chain of {@code s_i = anyOf [$ref s_i-1, $ref s_i-1]} doubled the walk per level (a
     * 1.6 KB schema took 17 s at 22 levels).
     */
    @Test
    void aOneOfWalksSharedBranchSchemasOnce() {
        for (int k : new int[] {16, 40}) {
            String defs = IntStream.rangeClosed(1, k).mapToObj(i -> ",\"s" + i + "\":{\"anyOf\":[{\"$ref\":\"#/$defs/s"
                    + (i - 1) + "\"},{\"$ref\":\"#/$defs/s" + (i - 1) + "\"}]}").collect(Collectors.joining());
            JsonNode root = JSON.readTree("{\"$defs\":{\"s0\":{\"type\":\"string\"}" + defs + "},\"oneOf\":[{\"$ref\":"
                    + "\"#/$defs/s" + k + "\"},{\"type\":\"string\"}]}");
            Disjointness walk = new Disjointness(root);
            assertThatThrownBy(() -> walk.require(root.get("oneOf"), "/oneOf"))
                    .isInstanceOf(UnsupportedSchemaException.class).hasMessageContaining("not provably disjoint");
            assertThat(walk.computed()).as("signatures computed for %d levels", k).isLessThanOrEqualTo(2 * (k + 2));
            assertThatThrownBy(() -> compiler.compileCached(root)).isInstanceOf(UnsupportedSchemaException.class)
                    .hasMessageContaining("not provably disjoint");
        }
    }

    /** A branch reached through a chain of references is judged by what the chain ends in, as far as compiling goes. */
    @Test
    void aOneOfBranchBehindAChainOfReferencesIsJudgedByItsEnd() {
        String defs = IntStream.range(0, 40).mapToObj(i -> "\"r" + i + "\":{\"$ref\":\"#/$defs/r" + (i + 1) + "\"},")
                .collect(Collectors.joining());
        JsonNode root = JSON.readTree("{\"$defs\":{" + defs + "\"r40\":{\"type\":\"string\"}},\"oneOf\":[{\"$ref\":"
                + "\"#/$defs/r0\"},{\"type\":\"null\"}]}");
        Grammar g = compiler.compileCached(root);
        assertThat(GrammarFixtures.accepts(g, "\"x\"")).isTrue();
        assertThat(GrammarFixtures.accepts(g, "null")).isTrue();
        assertThat(GrammarFixtures.accepts(g, "1")).isFalse();
    }

    @Test
    void thousandsOfRequiredPropertiesCompileAndHoldTheirOrder() {
        Grammar g = compiler.compile(object(2000, true, false));
        String doc = "{" + IntStream.range(0, 2000).mapToObj(i -> "\"p" + i + "\":\"v\"").collect(Collectors.joining(","))
                + "}";
        GrammarState end = g.initialState().advance(doc.getBytes(StandardCharsets.UTF_8));
        assertThat(end).isNotNull();
        assertThat(end.isComplete()).isTrue();
        assertThat(g.initialState().advance("{\"p1\":".getBytes(StandardCharsets.UTF_8))).as("p0 first").isNull();
        assertThat(compiler.compile(object(2000, true, true))).as("with additional properties after them").isNotNull();
    }

    @Test
    void optionalPropertiesWithoutAdditionalOnesOnlyKeepTheNamesThatMayCome() {
        Grammar g = compiler.compile(object(150, false, false));
        assertThat(g.initialState().advance("{\"p7\":\"x\",\"p3\"".getBytes(StandardCharsets.UTF_8)))
                .as("schema order").isNull();
        GrammarState s = g.initialState().advance("{\"p7\":\"x\",\"p9\":\"y\"}".getBytes(StandardCharsets.UTF_8));
        assertThat(s).isNotNull();
        assertThat(s.isComplete()).isTrue();
        assertThat(g.initialState().advance("{\"q\"".getBytes(StandardCharsets.UTF_8))).as("no other key").isNull();
    }
}
