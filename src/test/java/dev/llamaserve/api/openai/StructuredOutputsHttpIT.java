package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.InputStream;
import java.time.Duration;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;

/**
 * {@code response_format} over HTTP on the REAL engine with the random-weight demo checkpoint at temperature
 * 1.0 (the model wanders everywhere the grammar allows): for every schema of the grammar corpus
 * (src/test/resources/grammar/schemas.json, over 100 schemas covering every supported keyword, nested and
 * recursive ones), two seeds per schema (one streamed, one not), each output parses and is valid for networknt's validator
 * with format assertions, finishing with {@code stop}; or it was cut with {@code length} at max_tokens, and
 * then it is a prefix the grammar can still complete. In a strict schema every keyword the grammar cannot
 * enforce is a 400 {@code unsupported_value} naming its JSON pointer; a schema that is not strict (OpenAI's
 * default) goes without such keywords, and what comes back is valid against the rest.
 */
class StructuredOutputsHttpIT extends RealEngineWebTest {

    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static final int MAX_TOKENS = 128;

    private record Result(String name, JsonNode schema, boolean stream, String text, String finishReason,
            int completionTokens) {}

    private static List<JsonNode> corpus() throws java.io.IOException {
        try (InputStream in = StructuredOutputsHttpIT.class.getResourceAsStream("/grammar/schemas.json")) {
            List<JsonNode> out = new ArrayList<>();
            OpenAiJson.MAPPER.readTree(in).values().forEach(out::add);
            return out;
        }
    }

    private String body(JsonNode schema, String name, long seed, boolean stream) {
        String format = "{\"type\":\"json_schema\",\"json_schema\":{\"name\":" + OpenAiJson.MAPPER.writeValueAsString(name)
                + ",\"strict\":true,\"schema\":" + OpenAiJson.MAPPER.writeValueAsString(schema) + "}}";
        return chat("\"temperature\":1.0,\"top_p\":1.0,\"seed\":" + seed + ",\"max_tokens\":" + MAX_TOKENS
                + ",\"response_format\":" + format + (stream ? ",\"stream\":true" : ""));
    }

    /** POSTs a chat completion, waiting as long as a shared CPU needs. */
    private HttpResponse<String> send(String body) throws Exception {
        return post("/v1/chat/completions", body, Duration.ofMinutes(10));
    }

    private Result run(String name, JsonNode schema, long seed, boolean stream) throws Exception {
        return read(name, schema, stream, send(body(schema, name, seed, stream)));
    }

    /** The text and finish reason of a JSON or SSE answer. */
    private static Result read(String name, JsonNode schema, boolean stream, HttpResponse<String> r) {
        assertThat(r.statusCode()).as("%s: %s", name, r.body()).isEqualTo(200);
        if (!stream) {
            JsonNode b = json(r.body());
            JsonNode choice = b.get("choices").get(0);
            return new Result(name, schema, false, choice.get("message").get("content").asString(),
                    choice.get("finish_reason").asString(), b.get("usage").get("completion_tokens").asInt());
        }
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (String data : Sse.data(r.body())) {
            if (data.equals("[DONE]")) {
                continue;
            }
            JsonNode chunk = json(data);
            assertThat(chunk.has("error")).as("%s: %s", name, data).isFalse();
            JsonNode choice = chunk.get("choices").get(0);
            JsonNode content = choice.get("delta").get("content");
            if (content != null && content.isString()) {
                text.append(content.asString());
            }
            if (choice.hasNonNull("finish_reason")) {
                finish = choice.get("finish_reason").asString();
            }
        }
        return new Result(name, schema, true, text.toString(), finish, -1);
    }

    @Test
    void everyCorpusSchemaIsEnforcedStreamedAndNot() throws Exception {
        List<JsonNode> corpus = corpus();
        assertThat(corpus).hasSizeGreaterThanOrEqualTo(100);
        ExecutorService pool = Executors.newFixedThreadPool(16);
        List<Future<Result>> futures = new ArrayList<>();
        try {
            for (JsonNode entry : corpus) {
                String name = entry.get("name").asString();
                for (boolean stream : new boolean[] {false, true}) { // two seeds per schema: one each way
                    long seed = name.hashCode() * 31L + (stream ? 1 : 0);
                    futures.add(pool.submit(() -> run(name, entry.get("schema"), seed, stream)));
                }
            }
            int stopped = 0;
            for (Future<Result> f : futures) {
                Result r = f.get();
                if (r.finishReason().equals("stop")) {
                    stopped++;
                    var errors = REGISTRY.getSchema(r.schema()).validate(r.text(), InputFormat.JSON,
                            ctx -> ctx.executionConfig(c -> c.formatAssertionsEnabled(true)));
                    assertThat(errors).as("%s (stream=%s): %s", r.name(), r.stream(), r.text()).isEmpty();
                } else {
                    assertThat(r.finishReason()).as(r.name()).isEqualTo("length");
                    if (!r.stream()) {
                        assertThat(r.completionTokens()).isEqualTo(MAX_TOKENS);
                    }
                    assertThat(isPrefix(r.schema(), r.text())).as("%s: a valid prefix: %s", r.name(), r.text()).isTrue();
                }
            }
            assertThat(stopped).as("most documents complete within %d tokens", MAX_TOKENS)
                    .isGreaterThan(futures.size() / 2);
        } finally {
            pool.shutdownNow();
        }
    }

    /** Whether the grammar of {@code schema} reads {@code text} without rejecting a byte. */
    private static boolean isPrefix(JsonNode schema, String text) {
        return new dev.llamaserve.engine.grammar.SchemaCompiler(dev.llamaserve.engine.grammar.GrammarOptions.DEFAULT)
                .compile(schema).initialState().advance(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)) != null;
    }

    @Test
    void jsonObjectStreamedAndNot() throws Exception {
        JsonNode object = json("{\"type\":\"object\"}");
        for (long seed = 0; seed < 2; seed++) {
            for (boolean stream : new boolean[] {false, true}) {
                String extra = "\"temperature\":1.0,\"seed\":" + seed + ",\"max_tokens\":" + MAX_TOKENS
                        + ",\"response_format\":{\"type\":\"json_object\"}" + (stream ? ",\"stream\":true" : "");
                Result r = read("json_object", object, stream, send(chat(extra)));
                if (r.finishReason().equals("stop")) {
                    assertThat(json(r.text()).isObject()).as(r.text()).isTrue();
                } else {
                    assertThat(r.finishReason()).isEqualTo("length");
                    assertThat(new dev.llamaserve.engine.grammar.SchemaCompiler(
                            dev.llamaserve.engine.grammar.GrammarOptions.DEFAULT).jsonObject().initialState()
                            .advance(r.text().getBytes(java.nio.charset.StandardCharsets.UTF_8))).as(r.text()).isNotNull();
                }
            }
        }
    }

    @Test
    void completionsEndpointTakesResponseFormat() throws Exception {
        JsonNode schema = json("{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\",\"minimum\":0,"
                + "\"maximum\":99},\"ok\":{\"type\":\"boolean\"}},\"required\":[\"n\",\"ok\"],"
                + "\"additionalProperties\":false}");
        String body = "{\"model\":\"" + MODEL + "\",\"prompt\":\"x\",\"temperature\":1.0,\"seed\":3,\"max_tokens\":64,"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"c\",\"schema\":" + schema
                + "}}}";
        JsonNode choice = json(post("/v1/completions", body, Duration.ofMinutes(10)).body()).get("choices").get(0);
        assertThat(choice.get("finish_reason").asString()).isEqualTo("stop");
        assertThat(REGISTRY.getSchema(schema).validate(choice.get("text").asString(), InputFormat.JSON))
                .as(choice.get("text").asString()).isEmpty();
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
            {"$defs":{"a":{"type":"string","format":"uri"}},"$ref":"#/$defs/a"}              § /$defs/a/format
            {"type":"string","pattern":"(a)\\\\1"}                                           § /pattern
            {"allOf":[{"type":"integer"},{"minimum":3}]}                                     § /allOf
            {"oneOf":[{"type":"integer"},{"type":"number"}]}                                 § /oneOf
            {"$ref":"https://example.com/schema.json"}                                       § /$ref
            {"type":"object","properties":{"a~b/c":{"type":"integer","nullable":true}}}      § /properties/a~0b~1c/nullable
            """)
    void unsupportedKeywordIs400NamingItsPointer(String schema, String pointer) throws Exception {
        String format = "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"strict\":true,\"schema\":" + schema
                + "}}";
        HttpResponse<String> r = post("/v1/chat/completions", chat("\"max_tokens\":4,\"response_format\":" + format));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        JsonNode error = json(r.body()).get("error");
        assertThat(error.get("param").asString()).isEqualTo("response_format");
        assertThat(error.get("code").asString()).isEqualTo("unsupported_value");
        assertThat(error.get("message").asString()).contains("(at " + pointer + ")");
        String tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"strict\":true,\"parameters\":"
                + schema + "}}],\"tool_choice\":\"required\"";
        HttpResponse<String> t = post("/v1/chat/completions", chat("\"max_tokens\":4," + tools));
        assertThat(t.statusCode()).as(t.body()).isEqualTo(400);
        JsonNode terror = json(t.body()).get("error");
        assertThat(terror.get("param").asString()).isEqualTo("tools");
        assertThat(terror.get("message").asString()).contains("\"f\"").contains("(at " + pointer + ")");
    }

    /**
     * Not strict (OpenAI's default, as pydantic and MCP tool schemas are sent): the keywords the grammar cannot
     * enforce are left out, the rest is enforced, a forced tool call included; allOf of two schemas (never
     * relaxed) is still refused.
     */
    @Test
    void aSchemaThatIsNotStrictGoesWithoutWhatCannotBeEnforced() throws Exception {
        String schema = "{\"type\":\"object\",\"properties\":{\"site\":{\"type\":\"string\",\"format\":\"uri\","
                + "\"maxLength\":20},\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"b\"]},\"uniqueItems\":true,"
                + "\"maxItems\":2}},\"required\":[\"site\",\"tags\"],\"additionalProperties\":false}";
        String rest = schema.replace(",\"format\":\"uri\"", "").replace(",\"uniqueItems\":true", "");
        int stopped = 0;
        for (long seed = 0; seed < 3; seed++) {
            String format = "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":" + schema + "}}";
            HttpResponse<String> r = post("/v1/chat/completions", chat("\"max_tokens\":" + MAX_TOKENS
                    + ",\"temperature\":1.0,\"seed\":" + seed + ",\"response_format\":" + format), Duration.ofMinutes(10));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode choice = json(r.body()).get("choices").get(0);
            if (choice.get("finish_reason").asString().equals("stop")) {
                stopped++;
                String text = choice.get("message").get("content").asString();
                assertThat(REGISTRY.getSchema(json(rest)).validate(text, InputFormat.JSON)).as(text).isEmpty();
            }
        }
        assertThat(stopped).as("documents finished within %d tokens", MAX_TOKENS).isPositive();

        String tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":" + schema
                + "}}],\"tool_choice\":\"required\",\"parallel_tool_calls\":false";
        HttpResponse<String> t = post("/v1/chat/completions", chat("\"max_tokens\":" + MAX_TOKENS + ",\"seed\":1,"
                + "\"temperature\":1.0," + tools), Duration.ofMinutes(10));
        assertThat(t.statusCode()).as(t.body()).isEqualTo(200);
        JsonNode choice = json(t.body()).get("choices").get(0);
        if (choice.get("finish_reason").asString().equals("tool_calls")) {
            String arguments = choice.get("message").get("tool_calls").get(0).get("function").get("arguments").asString();
            assertThat(REGISTRY.getSchema(json(rest)).validate(arguments, InputFormat.JSON)).as(arguments).isEmpty();
        } else {
            assertThat(choice.get("finish_reason").asString()).isEqualTo("length");
        }

        String allOf = "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":"
                + "{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}}}";
        HttpResponse<String> refused = post("/v1/chat/completions", chat("\"max_tokens\":4,\"response_format\":" + allOf));
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
        assertThat(json(refused.body()).get("error").get("message").asString()).contains("(at /allOf)");
    }
}
