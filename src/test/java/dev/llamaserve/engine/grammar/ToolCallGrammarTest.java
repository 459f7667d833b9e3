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

    @Test
    void parametersOfAnotherTypeAreRefused() {
        JsonNode string = JSON.readTree("{\"type\":\"string\"}");
        assertThatThrownBy(() -> compiler.toolCalls(List.of("f"), List.of(string), List.of(true), false))
                .isInstanceOfSatisfying(UnsupportedSchemaException.class,
                        e -> assertThat(e.getMessage()).contains("JSON object schema"));
    }
}
