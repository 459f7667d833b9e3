package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.OutputConstraint;
import dev.llamaserve.engine.SamplingParams;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class ChatCompletionRequestParserTest {

    private final ChatCompletionRequestParser parser = new ChatCompletionRequestParser();
    private static final ModelInfo MODEL = new ModelInfo(4096, 1000, Set.of(2), 1.0, 1.0, false, null);

    private ChatCompletionParams parse(String extra) {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]" + (extra.isEmpty() ? "" : "," + extra) + "}";
        return parser.parse(body.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The request is refused with a 400 naming {@code param}: by the parser (JSON types, unsupported features) or
     * by the engine's request validation (ranges), which every submit runs.
     */
    private void rejects(String extra, String param, String code) {
        assertThatThrownBy(() -> {
            ChatCompletionParams p = parse(extra);
            new GenerationRequest("r", new int[] {1, 2, 3}, p.sampling(), p.names()).validate(MODEL);
        }).as(extra).isInstanceOfSatisfying(RuntimeException.class, t -> {
            ApiException e = ApiErrors.from(t, null);
            assertThat(e.status()).isEqualTo(400);
            assertThat(e.param()).isEqualTo(param);
            assertThat(e.code()).isEqualTo(code);
        });
    }

    /** Outputs the server cannot give are refused, not answered without them; fields that change nothing pass. */
    @Test
    void audioWebSearchAndModerationAreRefused() {
        rejects("\"modalities\":[\"text\",\"audio\"],\"audio\":{\"voice\":\"alloy\",\"format\":\"wav\"}",
                "modalities", "unsupported_value");
        rejects("\"audio\":{\"voice\":\"alloy\",\"format\":\"wav\"}", "audio", "unsupported_value");
        rejects("\"web_search_options\":{}", "web_search_options", "unsupported_value");
        rejects("\"moderation\":{\"model\":\"omni-moderation-latest\"}", "moderation", "unsupported_value");
        rejects("\"modalities\":\"text\"", "modalities", "invalid_type");
        rejects("\"guided_json\":{\"type\":\"object\"}", "guided_json", "unsupported_value");   // VllmOptionsNotServed
        assertThat(parse("\"modalities\":[\"text\"],\"audio\":null,\"web_search_options\":null,\"moderation\":null,"
                + "\"store\":true,"
                + "\"metadata\":{\"a\":\"b\"},\"user\":\"u\",\"service_tier\":\"auto\"").messages()).hasSize(1);
    }

    /** A number no int holds is "too large", not "must be in [-2147483648, 2147483647]" (the real range is n's). */
    @Test
    void integersBeyondAnIntAreTooLargeOrTooSmall() {
        assertThatThrownBy(() -> parse("\"max_tokens\":99999999999999999999"))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.getMessage())
                        .isEqualTo("'max_tokens' is too large, got 99999999999999999999"));
        assertThatThrownBy(() -> parse("\"n\":1e400")).isInstanceOfSatisfying(ApiException.class,
                e -> assertThat(e.getMessage()).isEqualTo("'n' is too large, got Infinity"));
        assertThatThrownBy(() -> parse("\"top_k\":-3000000000")).isInstanceOfSatisfying(ApiException.class,
                e -> assertThat(e.getMessage()).isEqualTo("'top_k' is too small, got -3000000000"));
    }

    /** The parser's hints name its own classes and settings, which a client can neither see nor change. */
    @Test
    void invalidJsonIsExplainedWithoutTheParsersInternals() {
        String[] bodies = {"[".repeat(300) + "]".repeat(300), "{\"n\":" + "9".repeat(150) + "}",
                "{\"temperature\":Infinity}", "{\"messages\":[", "{\"a\":1}x", "{'a':1}", "{\"a\":NaN}"};
        for (String body : bodies) {
            assertThatThrownBy(() -> parser.parse(body.getBytes(StandardCharsets.UTF_8))).as(body)
                    .isInstanceOfSatisfying(ApiException.class, e -> {
                        assertThat(e.code()).isEqualTo("invalid_json");
                        assertThat(e.getMessage()).startsWith("Request body ").doesNotContain("`")
                                .doesNotContain("Feature").doesNotContain("Constraints").doesNotContain("[Source")
                                .doesNotContain("REDACTED");
                    });
        }
        assertThatThrownBy(() -> parser.parse(bodies[0].getBytes(StandardCharsets.UTF_8))).hasMessageContaining(
                "200 levels of nesting");
        assertThatThrownBy(() -> parser.parse(bodies[2].getBytes(StandardCharsets.UTF_8))).hasMessageContaining(
                "Infinity");
    }

    /** Beside a response_format, a call names one of the tools (the answer may hold "name" too); alone, any name. */
    @Test
    void callsNameTheToolsWhereAResponseFormatStandsBesideThem() {
        String tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"parameters\":{}}}]";
        assertThat(parse(tools).toolCalls().names()).isNull();
        assertThat(parse(tools + ",\"parallel_tool_calls\":false").toolCalls().parallel()).isFalse();
        assertThat(parse(tools + ",\"response_format\":{\"type\":\"json_object\"}").toolCalls().names())
                .containsExactly("get_time");
    }

    @Test
    void vllmsGenerationPromptFieldsAreRead() {
        assertThat(parse("").addGenerationPrompt()).isTrue();
        assertThat(parse("").continueFinalMessage()).isFalse();
        ChatCompletionParams p = parse("\"add_generation_prompt\":false,\"continue_final_message\":true");
        assertThat(p.addGenerationPrompt()).isFalse();
        assertThat(p.continueFinalMessage()).isTrue();
        assertThat(parse("\"add_generation_prompt\":null").addGenerationPrompt()).isTrue();
        rejects("\"continue_final_message\":\"yes\"", "continue_final_message", "invalid_type");
    }

    @Test
    void defaultsLeaveSamplingToTheModel() {
        ChatCompletionParams p = parse("");
        assertThat(p.model()).isNull();
        assertThat(p.stream()).isFalse();
        assertThat(p.sampling()).isEqualTo(SamplingParams.defaults());
        assertThat(p.tools()).isNull();
    }

    @Test
    void acceptsEveryParameter() {
        ChatCompletionParams p = parse("\"model\":\"m\",\"temperature\":0,\"top_p\":1,\"top_k\":-1,\"min_p\":0.1,"
                + "\"seed\":-5,\"presence_penalty\":-2,\"frequency_penalty\":2,\"repetition_penalty\":1.2,"
                + "\"logit_bias\":{\"5\":-100,\"7\":100},\"max_tokens\":5.0,\"min_tokens\":3,\"ignore_eos\":false,"
                + "\"stop\":\"\\n\",\"stop_token_ids\":[9],\"logprobs\":true,\"top_logprobs\":20,\"n\":1,"
                + "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"response_format\":{\"type\":\"text\"},"
                + "\"tool_choice\":\"auto\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
                + "\"parallel_tool_calls\":false,"
                + "\"chat_template_kwargs\":{\"x\":1},\"return_tokens_as_token_ids\":true,\"store\":false");
        SamplingParams s = p.sampling();
        assertThat(s.temperature()).isEqualTo(0.0);
        assertThat(s.topP()).isEqualTo(1.0);
        assertThat(s.topK()).isEqualTo(-1);
        assertThat(s.minP()).isEqualTo(0.1);
        assertThat(s.seed()).isEqualTo(-5L);
        assertThat(s.presencePenalty()).isEqualTo(-2.0);
        assertThat(s.frequencyPenalty()).isEqualTo(2.0);
        assertThat(s.repetitionPenalty()).isEqualTo(1.2);
        assertThat(s.logitBias()).isEqualTo(Map.of(5, -100.0, 7, 100.0));
        assertThat(s.maxTokens()).isEqualTo(5);
        assertThat(s.minTokens()).isEqualTo(3);
        assertThat(s.stop()).containsExactly("\n");
        assertThat(s.stopTokenIds()).containsExactly(9);
        assertThat(s.logprobs()).isEqualTo(20);
        assertThat(p.stream()).isTrue();
        assertThat(p.includeUsage()).isTrue();
        assertThat(p.toolsEnabled()).isTrue();
        assertThat(p.returnTokensAsTokenIds()).isTrue();
        assertThat(p.chatTemplateKwargs().get("x").asInt()).isEqualTo(1);
    }

    /** The deprecated function fields are refused, not answered as if no function were given. */
    @Test
    void legacyFunctionsAreRefusedNotIgnored() {
        rejects("\"functions\":[{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}]", "functions",
                "unsupported_value");
        rejects("\"function_call\":{\"name\":\"get_weather\"}", "function_call", "unsupported_value");
        parse("\"functions\":null");   // an explicit null is an absent field, as elsewhere
    }

    @Test
    void maxCompletionTokensWinsOverMaxTokens() {
        assertThat(parse("\"max_tokens\":9,\"max_completion_tokens\":4").sampling().maxTokens()).isEqualTo(4);
        assertThat(parse("\"max_tokens\":9").sampling().maxTokens()).isEqualTo(9);
    }

    @Test
    void rangeChecks() {
        rejects("\"temperature\":2.0000001", "temperature", "invalid_value");
        rejects("\"top_p\":-0.01", "top_p", "invalid_value");
        rejects("\"top_p\":1.0000001", "top_p", "invalid_value");
        rejects("\"top_logprobs\":21,\"logprobs\":true", "top_logprobs", "invalid_value");
        rejects("\"top_logprobs\":2", "top_logprobs", "invalid_value");
        rejects("\"logit_bias\":{\"1\":100.01}", "logit_bias", "invalid_value");
        rejects("\"logit_bias\":{\"abc\":1}", "logit_bias", "invalid_value");
        rejects("\"logit_bias\":{\"1000\":1}", "logit_bias", "invalid_value");
        rejects("\"logit_bias\":{\"1\":\"1\"}", "logit_bias", "invalid_type");
        rejects("\"max_tokens\":0", "max_tokens", "invalid_value");
        rejects("\"max_tokens\":-1", "max_tokens", "invalid_value");
        rejects("\"max_tokens\":2.5", "max_tokens", "invalid_type");
        rejects("\"max_tokens\":1e400", "max_tokens", "invalid_value");
        rejects("\"min_tokens\":10,\"max_tokens\":5", "min_tokens", "invalid_value");
        rejects("\"stop\":[\"1\",\"2\",\"3\",\"4\",\"5\"]", "stop", "invalid_value");
        rejects("\"stop\":[1]", "stop", "invalid_type");
        rejects("\"presence_penalty\":2.5", "presence_penalty", "invalid_value");
        rejects("\"repetition_penalty\":0", "repetition_penalty", "invalid_value");
        rejects("\"min_p\":1.5", "min_p", "invalid_value");
        rejects("\"top_k\":-2", "top_k", "invalid_value");
        rejects("\"n\":0", "n", "invalid_value");
        rejects("\"n\":17", "n", "invalid_value");
        rejects("\"max_tokens\":1e999999999999", "max_tokens", "invalid_value"); // exponent beyond any double
    }

    @Test
    void unsupportedFeaturesAre400NamingTheParam() {
        rejects("\"tool_choice\":\"sometimes\"", "tool_choice", "invalid_value");
        rejects("\"stream_options\":{\"include_usage\":true}", "stream_options", "invalid_value");
    }

    private static final String TOOLS = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
            + "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}}}}},"
            + "{\"type\":\"function\",\"function\":{\"name\":\"g\"}}]";

    @Test
    void responseFormatBecomesTheOutputConstraint() {
        assertThat(parse("\"response_format\":{\"type\":\"text\"}").sampling().constraint()).isNull();
        assertThat(parse("\"response_format\":{\"type\":\"json_object\"}").sampling().constraint())
                .isInstanceOf(OutputConstraint.JsonObject.class);
        OutputConstraint c = parse("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"n\","
                + "\"strict\":true,\"schema\":{\"type\":\"integer\"}}}").sampling().constraint();
        assertThat(c).isInstanceOfSatisfying(OutputConstraint.JsonSchema.class, s -> {
            assertThat(s.name()).isEqualTo("n");
            assertThat(s.schema().get("type").asString()).isEqualTo("integer");
        });
        rejects("\"response_format\":{\"type\":\"xml\"}", "response_format", "invalid_value");
        rejects("\"response_format\":{\"type\":\"json_schema\"}", "response_format", "missing_required_parameter");
        rejects("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":5}}",
                "response_format.json_schema.schema", "invalid_type");
        rejects("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"strict\":\"yes\"}}",
                "response_format.json_schema.strict",
                "invalid_type");
        rejects("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"strict\":true,\"schema\":{\"type\":"
                + "\"string\",\"contentEncoding\":\"base64\"}}}", "response_format", "unsupported_value");
        // not strict (OpenAI's default): without what cannot be enforced
        assertThat(parse("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{\"type\":"
                + "\"string\",\"contentEncoding\":\"base64\"}}}").sampling().constraint())
                .isInstanceOfSatisfying(OutputConstraint.JsonSchema.class, s -> assertThat(s.strict()).isFalse());
    }

    /** OpenAI's response_format is the answer's: with tools the model may choose, calls stay possible. */
    @Test
    void responseFormatWithToolsTheModelMayCallIsCallsOrTheAnswer() {
        String format = ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{\"type\":"
                + "\"object\"}}}";
        ChatCompletionParams auto = parse(TOOLS + format);
        assertThat(auto.sampling().constraint()).isInstanceOfSatisfying(OutputConstraint.ToolCallsOrAnswer.class, o -> {
            assertThat(o.calls().functions()).extracting(OutputConstraint.Function::name).containsExactly("f", "g");
            assertThat(o.calls().parallel()).isTrue();
            assertThat(o.answer()).isInstanceOf(OutputConstraint.JsonSchema.class);
        });
        assertThat(auto.toolsEnabled()).isTrue();
        assertThat(parse(TOOLS + ",\"tool_choice\":\"auto\",\"parallel_tool_calls\":false,"
                + "\"response_format\":{\"type\":\"json_object\"}").sampling().constraint())
                .isInstanceOfSatisfying(OutputConstraint.ToolCallsOrAnswer.class, o -> {
                    assertThat(o.calls().parallel()).isFalse();
                    assertThat(o.answer()).isInstanceOf(OutputConstraint.JsonObject.class);
                });
        ChatCompletionParams none = parse(TOOLS + ",\"tool_choice\":\"none\"" + format);
        assertThat(none.sampling().constraint()).isInstanceOf(OutputConstraint.JsonSchema.class);
        assertThat(none.toolsEnabled()).isFalse();
        assertThat(parse(TOOLS + ",\"tool_choice\":\"required\"" + format).sampling().constraint())
                .as("a forced call comes first").isInstanceOf(OutputConstraint.ToolCalls.class);
        assertThat(parse(format.substring(1)).sampling().constraint()).isInstanceOf(OutputConstraint.JsonSchema.class);
    }

    @Test
    void toolChoiceRequiredAndNamedBecomeToolCallConstraints() {
        OutputConstraint required = parse(TOOLS + ",\"tool_choice\":\"required\"").sampling().constraint();
        assertThat(required).isInstanceOfSatisfying(OutputConstraint.ToolCalls.class, t -> {
            assertThat(t.functions()).extracting(OutputConstraint.Function::name).containsExactly("f", "g");
            assertThat(t.parallel()).isTrue();
        });
        OutputConstraint named = parse(TOOLS + ",\"parallel_tool_calls\":false,"
                + "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"g\"}}").sampling().constraint();
        assertThat(named).isInstanceOfSatisfying(OutputConstraint.ToolCalls.class, t -> {
            assertThat(t.functions()).extracting(OutputConstraint.Function::name).containsExactly("g");
            assertThat(t.parallel()).isFalse();
        });
        assertThat(((OutputConstraint.ToolCalls) parse(TOOLS + ",\"parallel_tool_calls\":true,"
                + "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"g\"}}").sampling().constraint())
                .parallel()).as("a named function is one call, as Spring AI's (ToolCallParser.Calls.parallel)")
                .isFalse();
        assertThat(parse(TOOLS + ",\"tool_choice\":\"auto\"").sampling().constraint()).isNull();
        rejects(TOOLS + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}", "tool_choice",
                "invalid_value");
        rejects("\"tool_choice\":\"required\"", "tool_choice", "invalid_value");
        rejects(TOOLS + ",\"parallel_tool_calls\":1", "parallel_tool_calls", "invalid_type");
        rejects("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"strict\":true,\"parameters\":{\"type\":"
                + "\"object\",\"patternProperties\":{}}}}],\"tool_choice\":\"required\"", "tools", "unsupported_value");
        assertThat(parse("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":"
                + "\"object\",\"patternProperties\":{}}}}],\"tool_choice\":\"required\"").sampling().constraint())
                .isInstanceOfSatisfying(OutputConstraint.ToolCalls.class,
                        t -> assertThat(t.functions().get(0).strict()).isFalse());
        rejects("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"strict\":\"yes\"}}],"
                + "\"tool_choice\":\"required\"", "tools[0].function.strict", "invalid_type");
        // parameters that are no schema: refused whatever tool_choice is (auto wrote them into the prompt as given)
        for (String choice : List.of("", ",\"tool_choice\":\"auto\"", ",\"tool_choice\":\"required\"",
                ",\"tool_choice\":\"none\"")) {
            rejects("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":\"x\"}}]" + choice,
                    "tools[0].function.parameters", "invalid_type");
        }
        assertThat(parse("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":true}}]")
                .tools().size()).isEqualTo(1);
    }

    @Test
    void wrongTypes() {
        rejects("\"stream\":\"yes\"", "stream", "invalid_type");
        rejects("\"n\":\"2\"", "n", "invalid_type");
        rejects("\"n\":1.5", "n", "invalid_type");
        rejects("\"model\":5", "model", "invalid_type");
        rejects("\"tools\":{}", "tools", "invalid_type");
        rejects("\"seed\":\"1\"", "seed", "invalid_type");
        rejects("\"chat_template_kwargs\":[]", "chat_template_kwargs", "invalid_type");
    }

    @Test
    void nullMeansAbsentAndUnknownFieldsAreIgnored() {
        ChatCompletionParams p = parse("\"temperature\":null,\"max_tokens\":null,\"stop\":null,\"whatever\":[1,{}]");
        assertThat(p.sampling()).isEqualTo(SamplingParams.defaults());
    }

    @Test
    void toolChoiceNoneDropsTools() {
        assertThat(parse("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":\"none\"")
                .tools()).isNull();
    }

    @Test
    void messagesAndToolsAreReadAsPythonReadsJson() {
        // the chat layer renders them with Python's json.dumps: floats are doubles (-0.0 keeps its sign,
        // 0.1000000000000000055511 is the double 0.1), integers of any size stay exact
        ChatCompletionParams p = parser.parse(("{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"n\":0.1000000000000000055511}],"
                + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":"
                + "{\"maximum\":123456789012345678901234567890,"
                + "\"minimum\":-0.0}}}]}").getBytes(StandardCharsets.UTF_8));
        assertThat(p.messages().get(0).get("n").isDouble()).isTrue();
        assertThat(p.messages().get(0).get("n").doubleValue()).isEqualTo(0.1);
        JsonNode parameters = p.tools().get(0).get("function").get("parameters");
        assertThat(parameters.get("maximum").bigIntegerValue()).isEqualTo(new java.math.BigInteger("123456789012345678901234567890"));
        assertThat(Double.doubleToRawLongBits(parameters.get("minimum").doubleValue()))
                .isEqualTo(Double.doubleToRawLongBits(-0.0));
    }
}
