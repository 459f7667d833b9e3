package dev.llamaserve.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * tool_choice auto with a response_format: the model may write tool calls (their parameters enforced) or the
 * answer in its format, nothing else.
 */
class ToolCallsOrAnswerTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final JsonNode WEATHER = JSON.readTree("{\"type\":\"object\",\"properties\":{\"city\":"
            + "{\"type\":\"string\"}},\"required\":[\"city\"],\"additionalProperties\":false}");
    private static final JsonNode ANSWER = JSON.readTree("{\"type\":\"object\",\"properties\":{\"summary\":"
            + "{\"type\":\"string\"},\"degrees\":{\"type\":\"integer\"}},\"required\":[\"summary\",\"degrees\"],"
            + "\"additionalProperties\":false}");
    private final SchemaCompiler compiler = new SchemaCompiler(GrammarOptions.DEFAULT);

    @Test
    void callsOrTheAnswerNothingElse() {
        Grammar g = compiler.toolCallsOrAnswer(List.of("weather"), List.of(WEATHER), List.of(false), true, ANSWER, true);
        assertThat(GrammarFixtures.accepts(g, "{\"name\": \"weather\", \"parameters\": {\"city\": \"Oslo\"}}")).isTrue();
        assertThat(GrammarFixtures.accepts(g, "{\"name\": \"weather\", \"parameters\": {\"city\": \"Oslo\"}}; "
                + "{\"name\": \"weather\", \"parameters\": {\"city\": \"Rome\"}}")).as("parallel").isTrue();
        assertThat(GrammarFixtures.accepts(g, "{\"summary\":\"sun\",\"degrees\":21}")).isTrue();
        assertThat(GrammarFixtures.accepts(g, "{\"name\": \"weather\", \"parameters\": {\"town\": \"Oslo\"}}")).as("parameters").isFalse();
        assertThat(GrammarFixtures.accepts(g, "{\"name\": \"other\", \"parameters\": {}}")).as("an unknown tool").isFalse();
        assertThat(GrammarFixtures.accepts(g, "{\"summary\":\"sun\"}")).as("the answer's schema").isFalse();
        assertThat(GrammarFixtures.accepts(g, "sunny")).isFalse();

        Grammar anyObject = compiler.toolCallsOrAnswer(List.of("weather"), List.of(WEATHER), List.of(false), false,
                null, true);
        assertThat(GrammarFixtures.accepts(anyObject, "{\"a\":[1]}")).as("json_object: any object").isTrue();
        assertThat(GrammarFixtures.accepts(anyObject, "[1]")).isFalse();
    }

    @Test
    void aCallsSchemaThatCannotBeEnforcedTakesAnyObjectButAStrictAnswerIsRefused() {
        JsonNode allOf = JSON.readTree("{\"allOf\":[{\"type\":\"object\"},{\"required\":[\"a\"]}]}");
        Grammar g = compiler.toolCallsOrAnswer(List.of("f"), List.of(allOf), List.of(false), false, ANSWER, true);
        assertThat(GrammarFixtures.accepts(g, "{\"name\": \"f\", \"parameters\": {\"b\":1}}")).isTrue();

        JsonNode unique = JSON.readTree("{\"type\":\"array\",\"uniqueItems\":true}");
        assertThatThrownBy(() -> compiler.toolCallsOrAnswer(List.of("weather"), List.of(WEATHER), List.of(true), false,
                unique, true)).isInstanceOfSatisfying(UnsupportedSchemaException.class, e -> {
                    assertThat(e.function()).as("the answer's, not a tool's").isEqualTo(-1);
                    assertThat(e.pointer()).isEqualTo("/uniqueItems");
                });
        Grammar relaxed = compiler.toolCallsOrAnswer(List.of("weather"), List.of(WEATHER), List.of(true), false,
                unique, false);
        assertThat(GrammarFixtures.accepts(relaxed, "[1,1]")).as("a non-strict answer goes without uniqueItems").isTrue();
        JsonNode nothing = JSON.readTree("{\"type\":\"string\",\"minLength\":3,\"maxLength\":2}");
        assertThatThrownBy(() -> compiler.toolCallsOrAnswer(List.of("weather"), List.of(WEATHER), List.of(true), false,
                nothing, true)).as("an answer that allows nothing is not left to the calls alone")
                .isInstanceOf(UnsupportedSchemaException.class);
    }

    /**
     * An answer may look like a call (its schema has "name" and "parameters", free-form): the calls alone tell what
     * the calls branch wrote, whole or cut, from what only the answer's could have.
     */
    @Test
    void theCallsAloneTellACallFromAnAnswerThatLooksLikeOne() {
        JsonNode lookalike = JSON.readTree("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
                + "\"parameters\":{\"type\":\"object\"}},\"required\":[\"name\",\"parameters\"]}");
        Grammar either = compiler.toolCallsOrAnswer(List.of("weather"), List.of(WEATHER), List.of(false), true,
                lookalike, true);
        Grammar calls = compiler.callsOfToolCallsOrAnswer(List.of("weather"), List.of(WEATHER), List.of(false), true);
        String answer = "{\"name\": \"weather\", \"parameters\": {\"town\": 7}}";
        String call = "{\"name\": \"weather\", \"parameters\": {\"city\": \"Oslo\"}}";
        assertThat(GrammarFixtures.accepts(either, answer)).as("the answer's branch").isTrue();
        assertThat(GrammarFixtures.accepts(calls, answer)).isFalse();
        assertThat(calls.initialState().advance(bytes("{\"name\": \"weather\", \"parameters\": {\"to"))).as("cut")
                .isNull();
        assertThat(GrammarFixtures.accepts(either, call)).isTrue();
        assertThat(GrammarFixtures.accepts(calls, call)).isTrue();
        assertThat(GrammarFixtures.accepts(calls, call + "; " + call)).as("parallel").isTrue();
        assertThat(calls.initialState().advance(bytes("{\"name\": \"weather\", \"parameters\": {\"ci"))).as("cut")
                .isNotNull();

        JsonNode nothing = JSON.readTree("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\","
                + "\"minLength\":3,\"maxLength\":2}},\"required\":[\"a\"]}");
        Grammar answerOnly = compiler.toolCallsOrAnswer(List.of("f"), List.of(nothing), List.of(true), false, ANSWER,
                true);
        assertThat(GrammarFixtures.accepts(answerOnly, "{\"summary\":\"sun\",\"degrees\":21}")).isTrue();
        assertThatThrownBy(() -> compiler.callsOfToolCallsOrAnswer(List.of("f"), List.of(nothing), List.of(true),
                false)).as("no call is possible").isInstanceOf(UnsupportedSchemaException.class);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * The answer and each function's parameters are compiled once, into the grammar built: a strict answer was
     * compiled alone first (to refuse one that allows nothing), one that is not strict relaxed first, and a
     * function's parameters that are not strict too, each compilation charged to the request's budget. A string of
     * 100,000 code points (600,000 of the 1,000,000 states and ranges) was then too large in each of them.
     */
    @Test
    void theAnswerAndTheParametersAreChargedOnce() {
        JsonNode longString = JSON.readTree("{\"type\":\"object\",\"properties\":{\"s0\":{\"type\":\"string\","
                + "\"maxLength\":100000}},\"required\":[\"s0\"]}");
        for (boolean strict : new boolean[] {true, false}) {
            Grammar g = compiler.toolCallsOrAnswer(List.of("weather"), List.of(WEATHER), List.of(true), false,
                    longString, strict);
            assertThat(GrammarFixtures.accepts(g, "{\"s0\":\"a\"}")).as("strict: %s", strict).isTrue();
        }
        Grammar g = compiler.toolCallsOrAnswer(List.of("f"), List.of(SchemaRelaxationTest.longStringsThenMultipleOf(1)),
                List.of(false), false, ANSWER, true);
        assertThat(GrammarFixtures.accepts(g, "{\"name\": \"f\", \"parameters\": {\"s0\": \"a\", \"n\": 4}}"))
                .isTrue();
        assertThat(GrammarFixtures.accepts(g, "{\"name\": \"f\", \"parameters\": {\"s0\": 1, \"n\": 4}}"))
                .as("the parameters are enforced, not any object").isFalse();
    }
}
