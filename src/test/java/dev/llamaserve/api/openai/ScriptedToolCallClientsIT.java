package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.llamaserve.engine.EngineEvent;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;
import org.springframework.ai.tool.function.FunctionToolCallback;
import reactor.core.publisher.Flux;

/**
 * Tool calls through real clients (Spring AI's OpenAiChatModel, LangChain4j's OpenAiStreamingChatModel):
 * the one wire-format test where, as the issue allows, a SCRIPTED engine stands behind the API and emits
 * a fixed token sequence: the REAL tokenizer's ids for the tool-call text (and the real
 * {@code <|python_tag|>} id), one token per event, decoded by that tokenizer. The prompt is encoded by the
 * real chat format. Each client must receive the streamed call whole.
 */
class ScriptedToolCallClientsIT extends EngineDoubleWebTest {

    record WeatherRequest(String city) {}

    private Flux<EngineEvent> oneTokenAtATime(String text) {
        int[] ids = engine.ids(text);
        var decoder = engine.detokenizer().newDecoder();
        List<EngineEvent> events = new java.util.ArrayList<>();
        for (int id : ids) {
            events.add(new EngineEvent.Tokens(new int[] {id}, decoder.next(id), List.of()));
        }
        return Flux.fromIterable(events);
    }

    private OpenAiChatModel springAi() {
        return OpenAiChatModel.builder()
                .options(OpenAiChatOptions.builder()
                        .baseUrl(baseUrl() + "/v1")
                        .apiKey("not-needed")
                        .model(MODEL)
                        .maxTokens(64)
                        .build())
                .build();
    }

    private OpenAiStreamingChatModel langChain4j() {
        return OpenAiStreamingChatModel.builder()
                .baseUrl(baseUrl() + "/v1")
                .apiKey("not-needed")
                .modelName(MODEL)
                .build();
    }

    @Test
    void springAiStreamedToolCall() {
        // the <|python_tag|> form, one token at a time, as the model would emit it
        engine.script = r -> Flux.concat(Flux.just(engine.pythonTagToken()),
                oneTokenAtATime("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}"),
                Flux.just(engine.finished(r, EngineEvent.FinishReason.STOP, 20)));
        FunctionToolCallback<WeatherRequest, String> tool = weatherTool();
        OpenAiChatOptions options = OpenAiChatOptions.builder()
                .model(MODEL)
                .toolCallbacks(List.of(tool))
                .build();
        List<ChatResponse> responses = springAi().stream(new Prompt("Weather in Paris?", options))
                .collectList().block();
        List<AssistantMessage.ToolCall> calls = responses.stream()
                .filter(r -> r.getResult() != null)
                .flatMap(r -> r.getResult().getOutput().getToolCalls().stream())
                .toList();
        assertThat(calls).hasSize(1);
        assertThat(calls.get(0).name()).isEqualTo("get_weather");
        assertThat(calls.get(0).arguments()).isEqualTo("{\"city\":\"Paris\"}");
        assertThat(calls.get(0).id()).startsWith("call_");
        assertThat(engine.promptText(0)).contains("\"name\": \"get_weather\"");
    }

    /**
     * A call max_tokens cut before its name was whole streams no call (an empty name made Spring AI's client throw
     * "Tool call function name is missing") and no call syntax as text: the answer ends "length" without either.
     */
    @Test
    void springAiStreamsACallCutBeforeItsNameAsNoCall() {
        engine.script = r -> Flux.concat(Flux.just(engine.pythonTagToken()), oneTokenAtATime("{\"name\": \"get_wea"),
                Flux.just(engine.finished(r, EngineEvent.FinishReason.LENGTH, 6)));
        FunctionToolCallback<WeatherRequest, String> tool = weatherTool();
        OpenAiChatOptions options = OpenAiChatOptions.builder().model(MODEL).toolCallbacks(List.of(tool)).build();
        List<ChatResponse> responses = springAi().stream(new Prompt("Weather in Paris?", options))
                .collectList().block(Duration.ofSeconds(30));
        assertThat(responses).isNotEmpty();
        List<ChatResponse> results = responses.stream().filter(r -> r.getResult() != null).toList();
        assertThat(results).allSatisfy(r -> {
            assertThat(r.getResult().getOutput().getToolCalls()).isEmpty();
            assertThat(r.getResult().getOutput().getText()).as("no call syntax as text").isNullOrEmpty();
        });
        assertThat(results).extracting(r -> r.getResult().getMetadata().getFinishReason())
                .containsOnlyOnce("LENGTH");
    }

    /** Spring AI's tool for the scripted calls: get_weather(city), answering "sunny". */
    private static FunctionToolCallback<WeatherRequest, String> weatherTool() {
        return FunctionToolCallback.builder("get_weather", (WeatherRequest w) -> "sunny")
                .description("Current weather in a city")
                .inputType(WeatherRequest.class)
                .build();
    }

    private static dev.langchain4j.model.chat.response.ChatResponse await(OpenAiStreamingChatModel model,
            ChatRequest request, StringBuilder partial) throws Exception {
        return LangChain4jStreams.await(model, request, partial, Duration.ofSeconds(30));
    }

    @Test
    void langChain4jStreamedToolCall() throws Exception {
        // the bare-JSON form, one token at a time
        engine.script = r -> Flux.concat(
                oneTokenAtATime("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}"),
                Flux.just(engine.finished(r, EngineEvent.FinishReason.STOP, 20)));
        ToolSpecification spec = ToolSpecification.builder().name("get_weather").description("Weather")
                .parameters(JsonObjectSchema.builder().addStringProperty("city").required("city").build()).build();
        var response = await(langChain4j(), ChatRequest.builder().messages(UserMessage.from("Weather in Paris?"))
                .toolSpecifications(spec).build(), new StringBuilder());
        List<ToolExecutionRequest> calls = response.aiMessage().toolExecutionRequests();
        assertThat(calls).hasSize(1);
        assertThat(calls.get(0).name()).isEqualTo("get_weather");
        assertThat(calls.get(0).arguments()).isEqualTo("{\"city\":\"Paris\"}");
        assertThat(response.finishReason().name()).isEqualTo("TOOL_EXECUTION");
    }
}
