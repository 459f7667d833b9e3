package dev.llamaserve.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every schema the compiler cannot enforce exactly is refused, naming the JSON pointer of the keyword. */
class UnsupportedSchemaTest {

    private final SchemaCompiler compiler = new SchemaCompiler(GrammarOptions.DEFAULT);

    /**
     * A oneOf branch without {@code type} generates the types of its keywords but accepts every other type: it is
     * disjoint from another branch only where neither generates what the other accepts. Tagged unions of untyped
     * object branches still are (each generated object fails the other's tag), and so are typed branches apart.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '§', textBlock = """
            {"oneOf":[{"properties":{"k":{"const":"a"}},"required":["k"]},{"properties":{"k":{"const":"b"}},"required":["k"]}]}
            {"oneOf":[{"type":"object","properties":{"a":{"type":"integer"}}},{"type":"string"}]}
            {"oneOf":[{"type":"integer","minimum":0},{"type":"string","minLength":1}]}
            {"oneOf":[{"const":{"a":[1,2]}},{"const":{"a":[2,1]}}]}
            {"oneOf":[{"const":{"a":1}},{"const":{"a":1,"b":1}}]}
            """)
    void compilesOneOfBranchesThatAreDisjoint(String schema) {
        assertThat(compiler.compile(schema)).isNotNull();
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '§', textBlock = """
            {"type":"object","properties":{"a":{"type":"number","multipleOf":2}}}            § /properties/a/multipleOf
            {"type":"array","uniqueItems":true}                                              § /uniqueItems
            {"type":"array","contains":{"type":"integer"}}                                   § /contains
            {"type":"object","patternProperties":{"^x":{}}}                                  § /patternProperties
            {"type":"object","propertyNames":{"maxLength":3}}                                § /propertyNames
            {"type":"object","minProperties":1}                                              § /minProperties
            {"type":"object","maxProperties":1}                                              § /maxProperties
            {"type":"object","dependentRequired":{"a":["b"]}}                                § /dependentRequired
            {"type":"object","dependentSchemas":{"a":{}}}                                    § /dependentSchemas
            {"type":"object","unevaluatedProperties":false}                                  § /unevaluatedProperties
            {"type":"array","unevaluatedItems":false}                                        § /unevaluatedItems
            {"not":{"type":"string"}}                                                        § /not
            {"if":{"type":"string"},"then":{"maxLength":2}}                                  § /if
            {"type":"string","contentEncoding":"base64"}                                     § /contentEncoding
            {"type":"string","format":"idn-hostname"}                                        § /format
            {"type":"string","format":"iri"}                                                 § /format
            {"$defs":{"a":{"type":"string","format":"uri"}},"$ref":"#/$defs/a"}              § /$defs/a/format
            {"type":"string","pattern":"(a)\\\\1"}                                           § /pattern
            {"type":"string","pattern":"(?=a)b"}                                             § /pattern
            {"type":"string","pattern":"\\\\bword"}                                          § /pattern
            {"type":"string","pattern":"\\\\p{L}+"}                                          § /pattern
            {"type":"string","pattern":"a^b"}                                                § /pattern
            {"type":"string","pattern":"^a|b$"}                                              § /pattern
            {"type":"string","pattern":"a{2000}"}                                            § /pattern
            {"type":"string","pattern":"^\\\\uD83Dx$"}                                     § /pattern
            {"type":"string","pattern":"[z-a]"}                                              § /pattern
            {"type":"string","pattern":"^[]a]$"}                                             § /pattern
            {"type":"string","pattern":"^[^]$"}                                              § /pattern
            {"type":"object","properties":{"\\ud800":{}},"required":["\\ud800"]}             § /properties/\ud800
            {"type":"array","items":[{"type":"integer"}]}                                    § /items
            {"allOf":[{"type":"integer"},{"minimum":3}]}                                     § /allOf
            {"type":"integer","anyOf":[{"minimum":1},{"maximum":-1}]}                        § /type
            {"$ref":"#/$defs/a","maxLength":3,"$defs":{"a":{"type":"string"}}}               § /maxLength
            {"enum":["a","bb"],"maxLength":1}                                                § /maxLength
            {"$ref":"https://example.com/schema.json"}                                       § /$ref
            {"$ref":"#/$defs/missing"}                                                       § /$ref
            {"$ref":"#anchor"}                                                               § /$ref
            {"$ref":"#/%ZQ"}                                                                 § /$ref
            {"$ref":"#/$defs/a%2","$defs":{"a":{}}}                                          § /$ref
            {"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"anyOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"} § /$defs/a/$ref
            {"oneOf":[{"type":"string"},{"type":"string","maxLength":2}]}                    § /oneOf
            {"oneOf":[{"type":"integer"},{"type":"number"}]}                                 § /oneOf
            {"oneOf":[{"enum":["a","b"]},{"const":"b"}]}                                     § /oneOf
            {"oneOf":[{"properties":{"a":{"type":"integer"}}},{"type":"string"}]}           § /oneOf
            {"oneOf":[{"minimum":0},{"type":"string"}]}                                      § /oneOf
            {"oneOf":[{"type":"integer"},{"minLength":1}]}                                   § /oneOf
            {"oneOf":[{"const":"x"},{"maxItems":2}]}                                         § /oneOf
            {"oneOf":[{"const":{"a":1,"b":2}},{"const":{"b":2,"a":1}}]}                      § /oneOf
            {"oneOf":[{"enum":[[{"a":1.0}],"x"]},{"enum":["y",[{"a":1}]]}]}                   § /oneOf
            {"oneOf":[{"type":"object","properties":{"t":{"const":{"k":[1e0]}}},"required":["t"]},{"type":"object","properties":{"t":{"const":{"k":[1]}}},"required":["t"]}]} § /oneOf
            {"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"string","$id":"x"}}}}} § /properties/a/properties/b/$id
            {"type":"integer","minimum":"3"}                                                 § /minimum
            {"type":"number","exclusiveMinimum":true}                                        § /exclusiveMinimum
            {"type":"integer","minimum":1e30}                                                § /minimum
            {"type":"number","minimum":0.1,"maximum":0.2}                                    § /minimum
            {"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1}                      § /exclusiveMinimum
            {"type":"integer","exclusiveMinimum":1e30}                                       § /exclusiveMinimum
            {"type":"integer","exclusiveMaximum":-1e30}                                      § /exclusiveMaximum
            {"type":"string","maxLength":-1}                                                 § /maxLength
            {"type":"array","minItems":1.5}                                                  § /minItems
            {"type":"strng"}                                                                 § /type
            {"type":"object","properties":{"a~b/c":{"type":"integer","nullable":true}}}      § /properties/a~0b~1c/nullable
            {"type":"object","properties":{"a":{"type":"string","minLength":3,"maxLength":2}},"required":["a"]} § ""
            {"type":"object","properties":{"x":false},"required":["x"]}                      § ""
            {"type":"array","items":false,"minItems":1}                                      § ""
            false                                                                            § ""
            """)
    void refusesNamingTheKeyword(String schema, String pointer) {
        String expected = pointer.equals("\"\"") ? "" : pointer;
        assertThatThrownBy(() -> compiler.compile(schema))
                .isInstanceOfSatisfying(UnsupportedSchemaException.class,
                        e -> assertThat(e.pointer()).as(e.getMessage()).isEqualTo(expected));
    }

    /** {@code {"$defs":{"d0":{"$ref":"#/$defs/d1"},…,"d<n>":{"type":"integer"}},"$ref":"#/$defs/d0"}}. */
    private static String refChain(int n) {
        StringBuilder defs = new StringBuilder();
        for (int i = 0; i < n; i++) {
            defs.append("\"d").append(i).append("\":{\"$ref\":\"#/$defs/d").append(i + 1).append("\"},");
        }
        return "{\"$defs\":{" + defs + "\"d" + n + "\":{\"type\":\"integer\"}},\"$ref\":\"#/$defs/d0\"}";
    }

    /** A chain of 1,000 references overflowed the stack (no answer to the request): it is refused, strict or not. */
    @Test
    void refusesAChainOfReferencesDeeperThanTheLimit() {
        assertThat(compiler.compile(refChain(200))).isNotNull();
        for (boolean strict : new boolean[] {true, false}) {
            assertThatThrownBy(() -> compiler.compileCached(tools.jackson.databind.json.JsonMapper.builder().build()
                    .readTree(refChain(1000)), strict))
                    .isInstanceOfSatisfying(UnsupportedSchemaException.class, e -> assertThat(e.pointer())
                            .as(e.getMessage()).matches("/\\$defs/d[0-9]+/\\$ref"));
        }
    }

    /**
     * References each to the next, compiled in turn from properties (so none nests deep when compiled): the chain
     * of unions the last one calls before reading a byte is as long, and is refused.
     */
    @Test
    void refusesAChainOfMemoizedReferencesLongerThanTheLimit() {
        StringBuilder props = new StringBuilder();
        StringBuilder required = new StringBuilder();
        StringBuilder defs = new StringBuilder("\"d0\":{\"type\":\"integer\"}");
        for (int i = 1; i <= 1000; i++) {
            props.append(i > 1 ? "," : "").append("\"p").append(i).append("\":{\"$ref\":\"#/$defs/d").append(i)
                    .append("\"}");
            required.append(i > 1 ? "," : "").append("\"p").append(i).append('"');
            defs.append(",\"d").append(i).append("\":{\"$ref\":\"#/$defs/d").append(i - 1).append("\"}");
        }
        String schema = "{\"type\":\"object\",\"properties\":{" + props + "},\"required\":[" + required + "],\"$defs\":{" + defs + "}}";
        assertThatThrownBy(() -> compiler.compile(schema))
                .isInstanceOfSatisfying(UnsupportedSchemaException.class, e -> assertThat(e.pointer())
                        .as(e.getMessage()).matches("/properties/p[0-9]+/\\$ref"));
    }
}
