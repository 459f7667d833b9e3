package dev.llamaserve.chat;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;

/** Expected strings are Python 3's json.dumps(..., ensure_ascii=False) output. */
class PyJsonTest {

    private static final String INPUT = "{\"a\": [], \"b\": {}, \"c\": [1, {\"d\": null, \"e\": true}],"
            + " \"s\": \"x\\u001f\\u007f\\\"\\\\\\n\\t\\b\\f\\r é中🦙\", \"big\": 123456789012345678901234567890,"
            + " \"neg\": -0.0, \"f\": [1e16, 1E15, 2.5e-8, 3.0, 0.0001, 0.00001, 1.5e300]}";

    @Test
    void indentedLikePython() {
        JsonNode node = ChatJson.parse(INPUT);
        assertThat(PyJson.dumps(node, 4)).isEqualTo("""
                {
                    "a": [],
                    "b": {},
                    "c": [
                        1,
                        {
                            "d": null,
                            "e": true
                        }
                    ],
                    "s": "x\\u001f\u007f\\"\\\\\\n\\t\\b\\f\\r é中🦙",
                    "big": 123456789012345678901234567890,
                    "neg": -0.0,
                    "f": [
                        1e+16,
                        1000000000000000.0,
                        2.5e-08,
                        3.0,
                        0.0001,
                        1e-05,
                        1.5e+300
                    ]
                }""");
    }

    @Test
    void compactLikePython() {
        JsonNode node = ChatJson.parse("{\"a\":[],\"b\":{},\"c\":[1,{\"d\":null,\"e\":true}],\"neg\":-0.0}");
        assertThat(PyJson.dumps(node)).isEqualTo("{\"a\": [], \"b\": {}, \"c\": [1, {\"d\": null, \"e\": true}], \"neg\": -0.0}");
    }

    @ParameterizedTest
    @CsvSource(delimiter = ' ', value = {
        "1e16 1e+16", "9999999999999998.0 9999999999999998.0", "1e15 1000000000000000.0", "0.1 0.1", "0.3 0.3",
        "2.5e-08 2.5e-08", "1e-05 1e-05", "0.0001 0.0001", "3.0 3.0", "-0.0 -0.0", "0.0 0.0", "5e-324 5e-324",
        "1.7976931348623157e308 1.7976931348623157e+308", "1e22 1e+22", "1e23 1e+23",
        "2.82879384806159e17 2.82879384806159e+17", "123456789.125 123456789.125", "-1.5 -1.5",
        "2.2250738585072014e-308 2.2250738585072014e-308", "100 100.0"})
    void floatsAsPythonRepr(double value, String python) {
        assertThat(PyJson.floatRepr(value)).isEqualTo(python);
    }

    @Test
    void stringsEscapeOnlyWhatPythonEscapes() {
        assertThat(PyJson.dumpsString("<|eot_id|> \"q\" \\ \u0000\u001b\u007f é 🦙\n"))
                .isEqualTo("\"<|eot_id|> \\\"q\\\" \\\\ \\u0000\\u001b\u007f é 🦙\\n\"");
    }

    @Test
    void integersOfAnySizeAndNonFiniteFloats() {
        assertThat(PyJson.dumps(ChatJson.parse("[-0, 18446744073709551616, 1E400, -1e400, NaN]")))
                .isEqualTo("[0, 18446744073709551616, Infinity, -Infinity, NaN]");
    }
}
