package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.llamaserve.engine.EngineEvent;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;
import org.springframework.ai.tool.function.FunctionToolCallback;
import reactor.core.publisher.Flux;

/**
 * Real OpenAI clients against the server: Spring AI's OpenAiChatModel (2.0.x, on the official
 * openai-java SDK) and LangChain4j's OpenAiStreamingChatModel. Runs with the engine test double
 * here (see {@link EngineDoubleWebTest}); the lead reruns it against the real engine.
 */
class OpenAiClientsConformanceTest extends EngineDoubleWebTest {

    record WeatherRequest(String city) {}

    private OpenAiChatModel springAi(boolean streamUsage) {
        return OpenAiChatModel.builder()
                .options(OpenAiChatOptions.builder()
                        .baseUrl(baseUrl() + "/v1")
                        .apiKey("not-needed")
                        .model(MODEL)
                        .maxTokens(64)
                        .streamUsage(streamUsage)
                        .build())
                .build();
    }

    @Test
    void springAiCall() {
        ChatResponse response = springAi(true).call(new Prompt("Hi"));
        assertThat(response.getResult().getOutput().getText()).isEqualTo("Hello world!");
        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualToIgnoringCase("stop");
        assertThat(response.getMetadata().getUsage().getCompletionTokens()).isEqualTo(12);
        assertThat(response.getMetadata().getUsage().getPromptTokens())
                .isEqualTo(engine.submitted.get(0).promptTokenIds().length);
    }

    @Test
    void springAiStreamWithUsage() {
        List<ChatResponse> responses = springAi(true).stream(new Prompt("Hi")).collectList().block();
        assertThat(responses).isNotNull();
        StringBuilder text = new StringBuilder();
        for (ChatResponse r : responses) {
            if (r.getResult() != null && r.getResult().getOutput().getText() != null) {
                text.append(r.getResult().getOutput().getText());
            }
        }
        assertThat(text.toString()).isEqualTo("Hello world!");
        ChatResponse last = responses.get(responses.size() - 1);
        assertThat(last.getMetadata().getUsage().getCompletionTokens()).isEqualTo(12);
        assertThat(last.getMetadata().getUsage().getTotalTokens())
                .isEqualTo(engine.submitted.get(0).promptTokenIds().length + 12);
        assertThat(engine.submitted.get(0).params().maxTokens()).isEqualTo(64);
    }

    @Test
    void springAiStreamedToolCall() {
        engine.script = r -> Flux.just(
                new EngineEvent.Tokens(new int[] {ScriptedEngine.PYTHON_TAG}, "", List.of()),
                new EngineEvent.Tokens(ScriptedEngine.ids("{\"name\": \"get_weather\", "), "{\"name\": \"get_weather\", ", List.of()),
                new EngineEvent.Tokens(ScriptedEngine.ids("\"parameters\": {\"city\": \"Paris\"}}"),
                        "\"parameters\": {\"city\": \"Paris\"}}", List.of()),
                ScriptedEngine.finished(r, EngineEvent.FinishReason.STOP, 20));
        FunctionToolCallback<WeatherRequest, String> tool = FunctionToolCallback
                .builder("get_weather", (WeatherRequest w) -> "sunny")
                .description("Current weather in a city")
                .inputType(WeatherRequest.class)
                .build();
        OpenAiChatOptions options = OpenAiChatOptions.builder()
                .model(MODEL)
                .toolCallbacks(List.of(tool))
                .build();
        List<ChatResponse> responses = springAi(false).stream(new Prompt("Weather in Paris?", options))
                .collectList().block();
        List<AssistantMessage.ToolCall> calls = responses.stream()
                .filter(r -> r.getResult() != null)
                .flatMap(r -> r.getResult().getOutput().getToolCalls().stream())
                .toList();
        assertThat(calls).hasSize(1);
        assertThat(calls.get(0).name()).isEqualTo("get_weather");
        assertThat(calls.get(0).arguments()).isEqualTo("{\"city\":\"Paris\"}");
        assertThat(calls.get(0).id()).startsWith("call_");
        assertThat(encoder.last.tools()).isNotNull();
        assertThat(encoder.last.tools().toString()).contains("get_weather");
    }

    private OpenAiStreamingChatModel langChain4j() {
        return OpenAiStreamingChatModel.builder()
                .baseUrl(baseUrl() + "/v1")
                .apiKey("not-needed")
                .modelName(MODEL)
                .build();
    }

    private static dev.langchain4j.model.chat.response.ChatResponse await(OpenAiStreamingChatModel model,
            ChatRequest request, StringBuilder partial) throws Exception {
        CompletableFuture<dev.langchain4j.model.chat.response.ChatResponse> done = new CompletableFuture<>();
        model.chat(request, new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String text) {
                partial.append(text);
            }

            @Override
            public void onCompleteResponse(dev.langchain4j.model.chat.response.ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        return done.get(30, TimeUnit.SECONDS);
    }

    @Test
    void langChain4jCall() {
        dev.langchain4j.model.openai.OpenAiChatModel model = dev.langchain4j.model.openai.OpenAiChatModel.builder()
                .baseUrl(baseUrl() + "/v1")
                .apiKey("not-needed")
                .modelName(MODEL)
                .maxTokens(32)
                .build();
        var response = model.chat(ChatRequest.builder().messages(UserMessage.from("Hi")).build());
        assertThat(response.aiMessage().text()).isEqualTo("Hello world!");
        assertThat(response.tokenUsage().outputTokenCount()).isEqualTo(12);
        assertThat(engine.submitted.get(0).params().maxTokens()).isEqualTo(32);
    }

    @Test
    void langChain4jStreaming() throws Exception {
        StringBuilder partial = new StringBuilder();
        var response = await(langChain4j(), ChatRequest.builder().messages(UserMessage.from("Hi")).build(), partial);
        assertThat(partial.toString()).isEqualTo("Hello world!");
        assertThat(response.aiMessage().text()).isEqualTo("Hello world!");
        assertThat(response.finishReason().name()).isEqualTo("STOP");
        assertThat(response.tokenUsage().outputTokenCount()).isEqualTo(12);
    }

    @Test
    void langChain4jStreamedToolCall() throws Exception {
        engine.script = r -> ScriptedEngine.text(r, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}");
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
