package dev.llamaserve.engine.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InvalidRequestException;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.OutputConstraint;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.engine.model.GenerationConfigParser;
import dev.llamaserve.engine.testing.Collector;
import dev.llamaserve.engine.testing.FakeCausalLm;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Grammar enforcement inside the engine: the tiny Llama 3.1 fixture's real byte-level tokenizer, a model with
 * pseudo-random logits (it wanders everywhere the grammar allows), temperature 1.0. Every output finished with
 * {@code stop} is valid for networknt's validator; every one cut with {@code length} is a prefix of a valid
 * document; tool calls have the Llama 3.1 JSON form; what the grammar cannot enforce is refused at submit.
 */
class ConstrainedDecodingTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static final int MAX_TOKENS = 160;

    private static Path dir;
    private static LlamaTokenizer tokenizer;
    private static LlmEngine engine;

    @BeforeAll
    static void start() throws URISyntaxException {
        dir = Path.of(ConstrainedDecodingTest.class.getResource("/fixtures/tiny-llama31/config.json").toURI()).getParent();
        tokenizer = LlamaTokenizer.load(dir);
        int vocab = tokenizer.vocabSize();
        Set<Integer> eos = GenerationConfigParser.read(dir).stopTokenIds(
                dev.llamaserve.engine.checkpoint.Checkpoint.open(dir).config());
        FakeCausalLm model = new FakeCausalLm(vocab, 65536, List.copyOf(eos), 1.0f, null);
        engine = LlmEngine.start(model, tokenizer, new ModelInfo(8192, vocab, eos, 1.0, 1.0, false, null),
                EngineOptions.defaults().withDrainTimeout(Duration.ofSeconds(5)));
    }

    @AfterAll
    static void stop() {
        engine.close();
        tokenizer.close();
    }

    private static List<JsonNode> corpus() throws java.io.IOException {
        try (InputStream in = ConstrainedDecodingTest.class.getResourceAsStream("/grammar/schemas.json")) {
            List<JsonNode> out = new ArrayList<>();
            JSON.readTree(in).values().forEach(out::add);
            return out;
        }
    }

    private record Run(String name, JsonNode schema, Collector events) {}

    private static Collector submit(String id, OutputConstraint c, long seed, int maxTokens) {
        SamplingParams p = SamplingParams.builder().temperature(1.0).topP(1.0).seed(seed).maxTokens(maxTokens)
                .constraint(c).build();
        return Collector.subscribe(engine.submit(new GenerationRequest(id, new int[] {1, 2, 3}, p)));
    }

    private static String text(Collector c) {
        StringBuilder sb = new StringBuilder();
        for (EngineEvent e : c.events) {
            if (e instanceof EngineEvent.Tokens t) {
                sb.append(t.text());
            } else if (e instanceof EngineEvent.Finished f && f.text() != null) {
                sb.append(f.text());
            }
        }
        return sb.toString();
    }

    @Test
    void everyCorpusSchemaIsEnforcedAtTemperatureOne() throws Exception {
        List<Run> runs = new ArrayList<>();
        int k = 0;
        for (JsonNode entry : corpus()) {
            for (long seed = 0; seed < 2; seed++) {
                String name = entry.get("name").asString();
                runs.add(new Run(name, entry.get("schema"), submit("c" + k++, new OutputConstraint.JsonSchema(name,
                        entry.get("schema")), seed * 7919 + name.hashCode(), MAX_TOKENS)));
            }
        }
        int stopped = 0;
        for (Run r : runs) {
            EngineEvent.Finished f = r.events().finished.get(60, TimeUnit.SECONDS);
            String out = text(r.events());
            if (f.reason() == EngineEvent.FinishReason.STOP) {
                stopped++;
                var errors = REGISTRY.getSchema(r.schema()).validate(out, InputFormat.JSON,
                        ctx -> ctx.executionConfig(c -> c.formatAssertionsEnabled(true)));
                assertThat(errors).as("%s: %s", r.name(), out).isEmpty();
            } else {
                assertThat(f.reason()).as(r.name()).isEqualTo(EngineEvent.FinishReason.LENGTH);
                assertThat(f.usage().completionTokens()).isEqualTo(MAX_TOKENS);
                assertThat(new dev.llamaserve.engine.grammar.SchemaCompiler(
                        dev.llamaserve.engine.grammar.GrammarOptions.DEFAULT).compile(r.schema()).initialState()
                        .advance(out.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                        .as("%s: a live prefix: %s", r.name(), out).isNotNull();
            }
        }
        assertThat(stopped).as("most documents complete within %d tokens", MAX_TOKENS)
                .isGreaterThan(runs.size() / 2);
        LlmEngine.MaskCost cost = engine.maskCost();
        assertThat(cost.masks()).as("one mask per sampled token").isGreaterThanOrEqualTo(runs.size());
        assertThat(cost.steps()).isPositive();
        assertThat(cost.maskNanos()).isPositive().isLessThan(cost.stepNanos());
    }

    @Test
    void jsonObjectYieldsAnObject() throws Exception {
        for (long seed = 0; seed < 6; seed++) {
            Collector c = submit("o" + seed, new OutputConstraint.JsonObject(), seed, 400);
            EngineEvent.Finished f = c.finished.get(60, TimeUnit.SECONDS);
            if (f.reason() == EngineEvent.FinishReason.STOP) {
                assertThat(JSON.readTree(text(c)).isObject()).as(text(c)).isTrue();
            } else {
                assertThat(text(c)).startsWith("{");
            }
        }
    }

    @Test
    void toolCallsHaveLlamaJsonFormAndValidArguments() throws Exception {
        JsonNode weather = JSON.readTree("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\","
                + "\"maxLength\":12},\"unit\":{\"enum\":[\"c\",\"f\"]}},\"required\":[\"city\",\"unit\"],"
                + "\"additionalProperties\":false}");
        JsonNode time = JSON.readTree("{\"type\":\"object\",\"properties\":{\"zone\":{\"type\":\"string\","
                + "\"format\":\"uuid\"}},\"required\":[\"zone\"],\"additionalProperties\":false}");
        List<OutputConstraint.Function> fns = List.of(new OutputConstraint.Function("get_weather", weather),
                new OutputConstraint.Function("get_time", time));
        int multi = 0;
        for (long seed = 0; seed < 12; seed++) {
            boolean parallel = seed % 2 == 0;
            Collector c = submit("t" + seed, new OutputConstraint.ToolCalls(fns, parallel), seed, 400);
            EngineEvent.Finished f = c.finished.get(60, TimeUnit.SECONDS);
            assertThat(f.reason()).isEqualTo(EngineEvent.FinishReason.STOP);
            String[] calls = text(c).split("; ");
            assertThat(calls.length == 1 || parallel).isTrue();
            multi += calls.length > 1 ? 1 : 0;
            for (String call : calls) {
                JsonNode node = JSON.readTree(call);
                assertThat(node.propertyNames()).containsExactly("name", "parameters");
                String name = node.get("name").asString();
                JsonNode schema = name.equals("get_weather") ? weather : time;
                assertThat(name).isIn("get_weather", "get_time");
                assertThat(REGISTRY.getSchema(schema).validate(node.get("parameters").toString(), InputFormat.JSON,
                        ctx -> ctx.executionConfig(x -> x.formatAssertionsEnabled(true)))).as(call).isEmpty();
            }
        }
        assertThat(multi).as("parallel calls occur").isPositive();
    }

    @Test
    void unsupportedKeywordIsRefusedAtSubmitNamingItsPointer() throws Exception {
        JsonNode schema = JSON.readTree("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\","
                + "\"multipleOf\":3}}}");
        assertThatThrownBy(() -> submit("u1", new OutputConstraint.JsonSchema("s", schema), 1, 10))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> {
                    assertThat(e.param()).isEqualTo("response_format");
                    assertThat(e.code()).isEqualTo(InvalidRequestException.UNSUPPORTED_VALUE);
                    assertThat(e.getMessage()).contains("/properties/a/multipleOf");
                });
        assertThatThrownBy(() -> submit("u2", new OutputConstraint.ToolCalls(List.of(
                new OutputConstraint.Function("f", JSON.readTree("{\"type\":\"object\"}")),
                new OutputConstraint.Function("g", schema)), false), 1, 10))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> {
                    assertThat(e.param()).isEqualTo("tools");
                    assertThat(e.getMessage()).contains("\"g\"").contains("/properties/a/multipleOf");
                });
    }

    /** An exponentially ambiguous schema fails its own request (error), and the engine goes on serving others. */
    @Test
    void aTooAmbiguousSchemaFailsItsRequestAndTheEngineGoesOn() throws Exception {
        JsonNode schema = JSON.readTree(dev.llamaserve.engine.grammar.AmbiguousSchemaTest.doubling(16));
        Collector bad = submit("ambiguous", new OutputConstraint.JsonSchema("s", schema), 1, 10);
        EngineEvent.Finished f = bad.finished.get(120, TimeUnit.SECONDS);
        assertThat(f.reason()).isEqualTo(EngineEvent.FinishReason.ERROR);
        assertThat(f.errorMessage()).contains("too ambiguous");
        assertThat(f.requestError()).as("the request's own schema failed it").isTrue();
        Collector next = submit("after", new OutputConstraint.JsonSchema("n", JSON.readTree("{\"type\":\"integer\"}")),
                2, 10);
        assertThat(next.finished.get(60, TimeUnit.SECONDS).reason())
                .isIn(EngineEvent.FinishReason.STOP, EngineEvent.FinishReason.LENGTH);
    }
}
