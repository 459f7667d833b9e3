package dev.llamaserve.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The schema corpus (src/test/resources/grammar/schemas.json, over 100 schemas covering every
 * supported keyword, nested and recursive ones) under a random model on the tiny Llama 3.1
 * vocabulary: every finished output parses and is valid for the independent validator; every output
 * cut by the length limit is a live prefix that can still be finished into a valid document.
 */
class SchemaCorpusTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int MAX_TOKENS = 300;
    private static final GrammarFixtures.Mode[] MODES = {GrammarFixtures.Mode.UNIFORM, GrammarFixtures.Mode.UNIFORM,
        GrammarFixtures.Mode.GAUSSIAN, GrammarFixtures.Mode.CLOSING, GrammarFixtures.Mode.CLOSING};

    static List<JsonNode> corpus() {
        try (InputStream in = SchemaCorpusTest.class.getResourceAsStream("/grammar/schemas.json")) {
            List<JsonNode> out = new ArrayList<>();
            JSON.readTree(in).values().forEach(out::add);
            return out;
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static Stream<Arguments> schemas() {
        return corpus().stream().map(e -> Arguments.of(e.get("name").asString(), e.get("schema")));
    }

    @Test
    void corpusHasOverAHundredDistinctSchemas() {
        List<JsonNode> c = corpus();
        assertThat(c).hasSizeGreaterThanOrEqualTo(100);
        assertThat(c.stream().map(e -> e.get("name").asString()).distinct().count()).isEqualTo(c.size());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("schemas")
    void everyOutputIsValidOrALivePrefix(String name, JsonNode schema) {
        Grammar grammar = new SchemaCompiler(GrammarOptions.DEFAULT).compile(schema);
        int finished = 0;
        for (int run = 0; run < MODES.length; run++) {
            long seed = name.hashCode() * 31L + run;
            GrammarFixtures.Output out = GrammarFixtures.generate(grammar, seed, MODES[run], MAX_TOKENS);
            if (!out.ended()) {
                assertThat(out.matcher().isEnded()).isFalse();
                out = GrammarFixtures.resume(out, seed + 1000, GrammarFixtures.Mode.CLOSING, 4 * MAX_TOKENS);
            }
            if (out.ended()) {
                finished++;
                assertValid(schema, out.text());
            }
        }
        assertThat(finished).as("runs that finished a document").isPositive();
    }

    static void assertValid(JsonNode schema, String text) {
        JsonNode parsed = JSON.readTree(text);
        assertThat(parsed).as("output parses: %s", text).isNotNull();
        assertThat(GrammarFixtures.validate(schema, text)).as("errors for output %s", text).isEmpty();
    }
}
