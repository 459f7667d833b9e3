package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;
import org.springframework.ai.openai.setup.OpenAiSetup;
import org.springframework.ai.tool.function.FunctionToolCallback;
import tools.jackson.databind.JsonNode;

/**
 * {@code tool_choice} "required" and a named function on the REAL engine with the random-weight demo checkpoint
 * at temperature 1.0: the output is always tool calls in Llama 3.1's JSON form, whose arguments are valid for
 * the tool's parameters schema (networknt), answered as {@code tool_calls} with finish_reason
 * {@code tool_calls}, streamed and not; and three real clients read them: Spring AI's OpenAiChatModel,
 * LangChain4j's OpenAiChatModel and the OpenAI Java SDK (openai-java-core, the SDK under Spring AI).
 */
class ForcedToolCallsHttpIT extends RealEngineWebTest {

    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static final String WEATHER = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\","
            + "\"maxLength\":10},\"unit\":{\"enum\":[\"celsius\",\"fahrenheit\"]}},\"required\":[\"city\",\"unit\"],"
            + "\"additionalProperties\":false}";
    private static final String TIME = "{\"type\":\"object\",\"properties\":{\"zone\":{\"enum\":[\"UTC\",\"CET\"]},"
            + "\"offset\":{\"type\":\"integer\",\"minimum\":-12,\"maximum\":14}},\"required\":[\"zone\"],"
            + "\"additionalProperties\":false}";
    private static final int MAX_TOKENS = 200;
    private static final Duration SLOW = Duration.ofMinutes(10);

    private static String tools() {
        return "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather\","
                + "\"parameters\":" + WEATHER + "}},{\"type\":\"function\",\"function\":{\"name\":\"get_time\","
                + "\"parameters\":" + TIME + "}}]";
    }

    private static void assertValidCall(String name, String arguments) {
        assertThat(name).isIn("get_weather", "get_time");
        JsonNode schema = json(name.equals("get_weather") ? WEATHER : TIME);
        assertThat(REGISTRY.getSchema(schema).validate(arguments, InputFormat.JSON)).as("%s(%s)", name, arguments)
                .isEmpty();
    }

    /**
     * The calls of a non-streamed answer, checked; returns the function names, none when max_tokens cut the
     * call short (finish_reason length: the unfinished call is then a partial tool call, as OpenAI answers it,
     * with its name, and no content; a call cut before its name is whole would be left out, which 200 tokens never
     * do).
     */
    private static List<String> calls(JsonNode body) {
        JsonNode choice = body.get("choices").get(0);
        if (choice.get("finish_reason").asString().equals("length")) {
            assertThat(choice.get("message").path("content").isNull()
                    || choice.get("message").path("content").isMissingNode()).as(body.toString()).isTrue();
            assertThat(choice.get("message").get("tool_calls")).as(body.toString()).isNotEmpty()
                    .allSatisfy(c -> assertThat(c.get("function").get("name").asString()).isNotEmpty());
            return List.of();
        }
        assertThat(choice.get("finish_reason").asString()).as(body.toString()).isEqualTo("tool_calls");
        List<String> names = new ArrayList<>();
        for (JsonNode call : choice.get("message").get("tool_calls")) {
            assertThat(call.get("type").asString()).isEqualTo("function");
            assertThat(call.get("id").asString()).startsWith("call_");
            assertValidCall(call.get("function").get("name").asString(), call.get("function").get("arguments").asString());
            names.add(call.get("function").get("name").asString());
        }
        assertThat(names).isNotEmpty();
        return names;
    }

    /** As {@link #calls} for an SSE answer. */
    private static List<String> streamedCalls(String body) {
        String finish = null;
        List<JsonNode> calls = new ArrayList<>();
        for (String data : Sse.data(body)) {
            if (data.equals("[DONE]")) {
                continue;
            }
            JsonNode choice = json(data).get("choices").get(0);
            assertThat(choice.get("delta").path("content").asString("")).as("no call syntax as text").isEmpty();
            if (choice.get("delta").has("tool_calls")) {
                choice.get("delta").get("tool_calls").forEach(calls::add);
            }
            if (choice.hasNonNull("finish_reason")) {
                finish = choice.get("finish_reason").asString();
            }
        }
        assertThat(finish).as(body).isIn("tool_calls", "length");
        assertThat(calls).as(body).isNotEmpty();
        if (finish.equals("length")) {   // cut short: the unfinished call is a partial one, with its name
            assertThat(calls).as(body).filteredOn(c -> c.has("function") && c.get("function").has("name"))
                    .allSatisfy(c -> assertThat(c.get("function").get("name").asString()).isNotEmpty());
            return List.of();
        }
        List<String> names = new ArrayList<>();
        for (JsonNode call : calls) {
            assertValidCall(call.get("function").get("name").asString(), call.get("function").get("arguments").asString());
            names.add(call.get("function").get("name").asString());
        }
        return names;
    }

    @Test
    void namedFunctionIsCalledStreamedAndNot() throws Exception {
        int complete = 0;
        for (long seed = 0; seed < 2; seed++) {
            String extra = "\"temperature\":1.0,\"seed\":" + seed + ",\"max_tokens\":" + MAX_TOKENS + "," + tools()
                    + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}";
            List<String> plain = calls(json(post("/v1/chat/completions", chat(extra), SLOW).body()));
            List<String> streamed = streamedCalls(post("/v1/chat/completions", chat(extra + ",\"stream\":true"), SLOW).body());
            for (List<String> names : List.of(plain, streamed)) {
                if (!names.isEmpty()) {
                    assertThat(names).containsExactly("get_time");
                    complete++;
                }
            }
        }
        assertThat(complete).as("calls completed within %d tokens", MAX_TOKENS).isPositive();
    }

    @Test
    void requiredCallsOneOrMoreToolsInParallelOrOneWithout() throws Exception {
        String required = "\"temperature\":1.0,\"max_tokens\":" + MAX_TOKENS + "," + tools() + ",\"tool_choice\":\"required\"";
        assertThat(calls(json(post("/v1/chat/completions", chat(required + ",\"seed\":1,\"parallel_tool_calls\":false"),
                SLOW).body())).size()).isLessThanOrEqualTo(1);
        int most = 0;
        JsonNode several = null;
        for (long seed = 0; seed < 8 && most < 2; seed++) { // until an answer holds several calls (each is checked)
            JsonNode answer = json(post("/v1/chat/completions", chat(required + ",\"seed\":" + seed), SLOW).body());
            List<String> names = calls(answer);
            most = Math.max(most, names.size());
            several = names.size() > 1 ? answer : several;
        }
        assertThat(most).as("with parallel_tool_calls an answer may hold several calls").isGreaterThan(1);

        // the agent loop of every OpenAI client: the assistant message as it came, one tool message per call (here
        // in reverse order), and the model asked again; the parallel calls it made must be accepted back
        JsonNode message = several.get("choices").get(0).get("message");
        StringBuilder results = new StringBuilder();
        List<JsonNode> sent = new ArrayList<>();
        message.get("tool_calls").forEach(sent::add);
        java.util.Collections.reverse(sent);
        for (JsonNode call : sent) {
            results.append(",{\"role\":\"tool\",\"tool_call_id\":\"").append(call.get("id").asString())
                    .append("\",\"content\":\"ok\"}");
        }
        String again = "{\"model\":\"" + model() + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
                + message + results + "]," + tools() + ",\"max_tokens\":2}";
        var reply = post("/v1/chat/completions", again, SLOW);
        assertThat(reply.statusCode()).as(reply.body()).isEqualTo(200);
        assertThat(json(reply.body()).get("usage").get("prompt_tokens").asInt()).isPositive();
    }

    /**
     * tool_choice auto with a response_format (as LangChain4j's AI services and the OpenAI Agents SDK send): the
     * format is the answer's, so every answer is either valid calls of the tools or a document valid against
     * the schema, and both occur.
     */
    @Test
    void autoWithAResponseFormatCallsAToolOrAnswersInTheFormat() throws Exception {
        String answer = "{\"type\":\"object\",\"properties\":{\"summary\":{\"type\":\"string\",\"maxLength\":12}},"
                + "\"required\":[\"summary\"],\"additionalProperties\":false}";
        java.util.Set<String> kinds = new java.util.TreeSet<>();
        for (long seed = 0; seed < 8 && kinds.size() < 2; seed++) {
            String extra = "\"temperature\":1.0,\"seed\":" + seed + ",\"max_tokens\":" + MAX_TOKENS + "," + tools()
                    + ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"a\",\"schema\":"
                    + answer + "}}";
            JsonNode body = json(post("/v1/chat/completions", chat(extra), SLOW).body());
            JsonNode choice = body.get("choices").get(0);
            String finish = choice.get("finish_reason").asString();
            if (finish.equals("tool_calls")) {
                assertThat(calls(body)).isNotEmpty();
                kinds.add("calls");
            } else if (finish.equals("stop")) {
                String content = choice.get("message").get("content").asString();
                assertThat(choice.get("message").has("tool_calls")).as(body.toString()).isFalse();
                assertThat(REGISTRY.getSchema(json(answer)).validate(content, InputFormat.JSON)).as(content).isEmpty();
                kinds.add("answer");
            } else {
                assertThat(finish).as(body.toString()).isEqualTo("length");
            }
        }
        assertThat(kinds).containsExactly("answer", "calls");
    }

    /**
     * tool_choice auto with a response_format whose answer names get_weather and has "parameters" of its own (a town):
     * whatever comes back as a call, streamed and not, of n = 4 choices, has arguments its tool's schema allows, and
     * the answer comes back as the content, valid against the format. The answer was read as a call of get_weather
     * whose arguments (a town) its schema refuses.
     */
    @Test
    void autoWithAFormatThatLooksLikeACallAnswersAsContentWhereNoToolsGrammarWroteIt() throws Exception {
        String answer = "{\"type\":\"object\",\"properties\":{\"name\":{\"enum\":[\"get_weather\"]},\"parameters\":"
                + "{\"type\":\"object\",\"properties\":{\"town\":{\"type\":\"string\",\"maxLength\":10}},"
                + "\"required\":[\"town\"],\"additionalProperties\":false}},\"required\":[\"name\",\"parameters\"],"
                + "\"additionalProperties\":false}";
        java.util.Set<String> kinds = new java.util.TreeSet<>();
        for (long seed = 0; seed < 6 && kinds.size() < 4; seed++) {
            String extra = "\"temperature\":1.0,\"seed\":" + seed + ",\"n\":4,\"max_tokens\":" + MAX_TOKENS + ","
                    + tools() + ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"a\","
                    + "\"schema\":" + answer + "}}";
            for (JsonNode choice : json(post("/v1/chat/completions", chat(extra), SLOW).body()).get("choices")) {
                JsonNode message = choice.get("message");
                List<JsonNode> calls = new ArrayList<>();
                message.path("tool_calls").forEach(calls::add);
                kinds.add(kind(choice.get("finish_reason").asString(), message.path("content").isString()
                        ? message.get("content").asString() : null, calls, answer) + " (non-streamed)");
            }
            String body = post("/v1/chat/completions", chat(extra + ",\"stream\":true"), SLOW).body();
            for (int i = 0; i < 4; i++) {
                StringBuilder content = new StringBuilder();
                List<JsonNode> calls = new ArrayList<>();
                String finish = null;
                for (String data : Sse.data(body)) {
                    JsonNode chunk = data.equals("[DONE]") ? null : json(data);
                    if (chunk == null || chunk.get("choices").isEmpty()
                            || chunk.get("choices").get(0).get("index").asInt() != i) {
                        continue;
                    }
                    JsonNode c = chunk.get("choices").get(0);
                    content.append(c.get("delta").path("content").asString(""));
                    c.get("delta").path("tool_calls").forEach(calls::add);
                    finish = c.hasNonNull("finish_reason") ? c.get("finish_reason").asString() : finish;
                }
                kinds.add(kind(finish, content.isEmpty() ? null : content.toString(), calls, answer) + " (streamed)");
            }
        }
        assertThat(kinds).contains("answer (non-streamed)", "answer (streamed)", "calls (non-streamed)",
                "calls (streamed)");
    }

    /**
     * What one choice is, checked: "calls" (each valid for its tool), "answer" (no call; the content valid against
     * {@code answer}), or "length" (cut: any call has its name).
     */
    private static String kind(String finish, String content, List<JsonNode> calls, String answer) {
        String what = finish + " " + content + " " + calls;
        if (finish.equals("length")) {
            assertThat(calls).as(what)
                    .allSatisfy(c -> assertThat(c.get("function").get("name").asString()).isNotEmpty());
            return "length";
        }
        if (finish.equals("tool_calls")) {
            assertThat(calls).as(what).isNotEmpty().allSatisfy(c -> assertValidCall(c.get("function").get("name")
                    .asString(), c.get("function").get("arguments").asString()));
            return "calls";
        }
        assertThat(finish).as(what).isEqualTo("stop");
        assertThat(calls).as(what).isEmpty();
        assertThat(REGISTRY.getSchema(json(answer)).validate(content, InputFormat.JSON)).as(what).isEmpty();
        return "answer";
    }

    @Test
    void springAiReadsTheForcedCall() {
        FunctionToolCallback<Map<String, Object>, String> tool = FunctionToolCallback
                .builder("get_weather", (Map<String, Object> m) -> "sunny")
                .description("Weather")
                .inputType(Map.class)
                .inputSchema(WEATHER)
                .build();
        OpenAiChatModel model = OpenAiChatModel.builder()
                .options(OpenAiChatOptions.builder().baseUrl(baseUrl() + "/v1").apiKey("not-needed").model(MODEL)
                        .temperature(1.0).maxTokens(MAX_TOKENS).timeout(Duration.ofMinutes(5)).build())
                .build();
        OpenAiChatOptions options = OpenAiChatOptions.builder().model(MODEL).toolCallbacks(List.of(tool))
                .toolChoice("required").parallelToolCalls(false).seed(5).build();
        ChatResponse response = model.call(new Prompt("Weather in Paris?", options));
        List<AssistantMessage.ToolCall> calls = response.getResult().getOutput().getToolCalls();
        assertThat(calls).isNotEmpty();
        for (AssistantMessage.ToolCall c : calls) {
            assertThat(c.name()).isEqualTo("get_weather");
            assertValidCall(c.name(), c.arguments());
        }
        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualToIgnoringCase("tool_calls");
    }

    @Test
    void langChain4jReadsTheRequiredCall() {
        dev.langchain4j.model.openai.OpenAiChatModel model = dev.langchain4j.model.openai.OpenAiChatModel.builder()
                .baseUrl(baseUrl() + "/v1").apiKey("not-needed").modelName(MODEL).temperature(1.0)
                .maxTokens(MAX_TOKENS).timeout(Duration.ofMinutes(5)).seed(5).parallelToolCalls(false).build();
        ToolSpecification spec = ToolSpecification.builder().name("get_time").description("Time")
                .parameters(JsonObjectSchema.builder().addEnumProperty("zone", List.of("UTC", "CET"))
                        .addIntegerProperty("offset").required("zone").build())
                .build();
        var response = model.chat(ChatRequest.builder().messages(UserMessage.from("Time?")).toolSpecifications(spec)
                .toolChoice(ToolChoice.REQUIRED).build());
        List<ToolExecutionRequest> calls = response.aiMessage().toolExecutionRequests();
        assertThat(calls).isNotEmpty();
        for (ToolExecutionRequest c : calls) {
            assertThat(c.name()).isEqualTo("get_time");
            JsonNode args = json(c.arguments());
            assertThat(args.get("zone").asString()).isIn("UTC", "CET");
        }
        assertThat(response.finishReason().name()).isEqualTo("TOOL_EXECUTION");
    }

    @Test
    void openAiJavaSdkReadsTheNamedCall() {
        OpenAIClient client = OpenAiSetup.setupSyncClient(baseUrl() + "/v1", "not-needed", null, null, null, null,
                false, false, MODEL, Duration.ofMinutes(5), 0, null, Map.of(), ObservationRegistry.NOOP,
                new SimpleMeterRegistry(), List.of());
        FunctionParameters.Builder params = FunctionParameters.builder();
        json(WEATHER).properties().forEach(e -> params.putAdditionalProperty(e.getKey(),
                JsonValue.from(OpenAiJson.MAPPER.convertValue(e.getValue(), Object.class))));
        ChatCompletionCreateParams request = ChatCompletionCreateParams.builder()
                .model(MODEL)
                .addUserMessage("Weather in Paris?")
                .temperature(1.0)
                .seed(7L)
                .maxCompletionTokens((long) MAX_TOKENS)
                .addFunctionTool(FunctionDefinition.builder().name("get_weather").parameters(params.build()).build())
                .toolChoice(ChatCompletionToolChoiceOption.ofNamedToolChoice(ChatCompletionNamedToolChoice.builder()
                        .function(ChatCompletionNamedToolChoice.Function.builder().name("get_weather").build())
                        .build()))
                .build();
        ChatCompletion completion = client.chat().completions().create(request);
        ChatCompletion.Choice choice = completion.choices().get(0);
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        List<ChatCompletionMessageToolCall> calls = choice.message().toolCalls().orElseThrow();
        assertThat(calls).hasSize(1);
        var fn = calls.get(0).asFunction().function();
        assertThat(fn.name()).isEqualTo("get_weather");
        assertValidCall(fn.name(), fn.arguments());
    }
}
