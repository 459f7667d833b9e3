package dev.llamaserve.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * What a schema may cost: the key automata of an object hold the names that may come at each position, so many
 * optional properties grew quadratically (2,000 short optional names held over a GB of heap per request, and four
 * such requests ended the server). They are bounded per schema; required properties (OpenAI's strict form) and
 * optional ones without additional properties stay cheap.
 */
class SchemaSizeTest {

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
