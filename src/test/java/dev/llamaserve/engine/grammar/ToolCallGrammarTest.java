package dev.llamaserve.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A forced call's arguments are an object, whatever the parameters schema leaves open. */
class ToolCallGrammarTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private final SchemaCompiler compiler = new SchemaCompiler(GrammarOptions.DEFAULT);

    /** parameters {} or true let the grammar write 9494 as the arguments: the call then came back as text. */
    @Test
    void parametersThatSayNoTypeAreAnObjects() {
        for (String parameters : new String[] {"{}", "true", "{\"properties\":{\"a\":{\"type\":\"integer\"}}}"}) {
            Grammar g = compiler.toolCalls(List.of("f"), List.of(JSON.readTree(parameters)), List.of(true), false);
            assertThat(GrammarFixtures.accepts(g, "{\"name\": \"f\", \"parameters\": {\"a\": 1}}")).as(parameters).isTrue();
            assertThat(GrammarFixtures.accepts(g, "{\"name\": \"f\", \"parameters\": 9494}")).as(parameters).isFalse();
            assertThat(GrammarFixtures.accepts(g, "{\"name\": \"f\", \"parameters\": \"x\"}")).as(parameters).isFalse();
        }
    }

    /**
     * A combinator or $ref at the root may allow a non-object ({@code null}, a string): the parser reads no such
     * arguments, so the forced call came back as text; it is refused, in both grammars that hold calls.
     */
    @Test
    void parametersWhoseRootMayBeANonObjectAreRefused() {
        for (String parameters : new String[] {
            "{\"anyOf\":[{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}}},{\"type\":\"null\"}]}",
            "{\"$ref\":\"#/$defs/a\",\"$defs\":{\"a\":{\"type\":\"string\"}}}"}) {
            List<JsonNode> schemas = List.of(JSON.readTree("{\"type\":\"object\"}"), JSON.readTree(parameters));
            assertThatThrownBy(() -> compiler.toolCalls(List.of("g", "f"), schemas, List.of(true, true), false))
                    .as(parameters).isInstanceOfSatisfying(UnsupportedSchemaException.class, e -> {
                        assertThat(e.function()).isEqualTo(1);
                        assertThat(e.getMessage()).contains("JSON objects only");
                    });
            assertThatThrownBy(() -> compiler.toolCallsOrAnswer(List.of("g", "f"), schemas, List.of(true, true), false,
                    null, true)).as(parameters).isInstanceOfSatisfying(UnsupportedSchemaException.class,
                            e -> assertThat(e.function()).isEqualTo(1));
        }
        JsonNode objects = JSON.readTree("{\"anyOf\":[{\"type\":\"object\",\"required\":[\"a\"]},"
                + "{\"type\":\"object\",\"required\":[\"b\"]}]}");
        Grammar g = compiler.toolCalls(List.of("f"), List.of(objects), List.of(true), false);
        assertThat(GrammarFixtures.accepts(g, "{\"name\": \"f\", \"parameters\": {\"b\": 1}}")).isTrue();
    }

    @Test
    void parametersOfAnotherTypeAreRefused() {
        JsonNode string = JSON.readTree("{\"type\":\"string\"}");
        assertThatThrownBy(() -> compiler.toolCalls(List.of("f"), List.of(string), List.of(true), false))
                .isInstanceOfSatisfying(UnsupportedSchemaException.class,
                        e -> assertThat(e.getMessage()).contains("JSON object schema"));
    }

    /** Parameters of keywords that are all left out where not strict ({@code not}) are an object's too. */
    @Test
    void parametersOfKeywordsLeftOutAreAnObjects() {
        JsonNode not = JSON.readTree("{\"not\":{\"type\":\"string\"}}");
        Grammar g = compiler.toolCalls(List.of("f"), List.of(not), List.of(false), false);
        assertThat(GrammarFixtures.accepts(g, "{\"name\": \"f\", \"parameters\": {\"a\": 1}}")).isTrue();
        assertThat(GrammarFixtures.accepts(g, "{\"name\": \"f\", \"parameters\": 1}")).isFalse();
        assertThatThrownBy(() -> compiler.toolCalls(List.of("f"), List.of(not), List.of(true), false))
                .isInstanceOfSatisfying(UnsupportedSchemaException.class,
                        e -> assertThat(e.pointer()).isEqualTo("/not"));
    }

    /**
     * Parameters that are not strict and allow no value are checked on their own, as their grammar is built: refused
     * by the function's index, or beside an answer, any object.
     */
    @Test
    void parametersThatAreNotStrictAndAllowNothingAreRefusedByFunction() {
        List<JsonNode> schemas = List.of(JSON.readTree("{\"type\":\"object\"}"), JSON.readTree("{\"type\":\"object\","
                + "\"properties\":{\"a\":{\"type\":\"string\",\"minLength\":3,\"maxLength\":2}},"
                + "\"required\":[\"a\"]}"));
        assertThatThrownBy(() -> compiler.toolCalls(List.of("g", "f"), schemas, List.of(true, false), false))
                .isInstanceOfSatisfying(UnsupportedSchemaException.class, e -> {
                    assertThat(e.function()).isEqualTo(1);
                    assertThat(e.getMessage()).contains("allows no finite JSON value");
                });
        Grammar g = compiler.toolCallsOrAnswer(List.of("g", "f"), schemas, List.of(true, false), false, null, true);
        assertThat(GrammarFixtures.accepts(g, "{\"name\": \"f\", \"parameters\": {\"b\": 1}}")).isTrue();
    }
}
