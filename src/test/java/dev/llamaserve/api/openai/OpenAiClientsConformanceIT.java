package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;
import tools.jackson.databind.JsonNode;

/**
 * Real OpenAI clients, built in test code, against the server on the REAL engine (demo checkpoint):
 * Spring AI's OpenAiChatModel (2.0.x, on the official openai-java SDK) call and stream with usage, and
 * LangChain4j's OpenAiChatModel and OpenAiStreamingChatModel. Greedy decoding, so each client must get
 * exactly the text and token counts a raw HTTP request for the same conversation gets. Tool calls through
 * these clients: {@link ScriptedToolCallClientsIT}.
 */
class OpenAiClientsConformanceIT extends RealEngineWebTest {

    private static final int MAX_TOKENS = 8;

    /** The raw answer to the clients' conversation ("Hi"), greedy, {@link #MAX_TOKENS}. */
    private JsonNode raw() throws Exception {
        JsonNode body = json(post("/v1/chat/completions", chat("\"temperature\":0,\"max_tokens\":" + MAX_TOKENS)).body());
        assertThat(body.get("choices").get(0).get("message").get("content").asString()).isNotEmpty();
        return body;
    }

    private static String text(JsonNode raw) {
        return raw.get("choices").get(0).get("message").get("content").asString();
    }

    private static int completionTokens(JsonNode raw) {
        return raw.get("usage").get("completion_tokens").asInt();
    }

    private OpenAiChatModel springAi(boolean streamUsage) {
        return OpenAiChatModel.builder()
                .options(OpenAiChatOptions.builder()
                        .baseUrl(baseUrl() + "/v1")
                        .apiKey("not-needed")
                        .model(MODEL)
                        .temperature(0.0)
                        .maxTokens(MAX_TOKENS)
                        .streamUsage(streamUsage)
                        .build())
                .build();
    }

    @Test
    void springAiCall() throws Exception {
        JsonNode raw = raw();
        ChatResponse response = springAi(true).call(new Prompt("Hi"));
        assertThat(response.getResult().getOutput().getText()).isEqualTo(text(raw));
        assertThat(response.getResult().getMetadata().getFinishReason())
                .isEqualToIgnoringCase(raw.get("choices").get(0).get("finish_reason").asString());
        assertThat(response.getMetadata().getUsage().getCompletionTokens()).isEqualTo(completionTokens(raw));
        assertThat(response.getMetadata().getUsage().getPromptTokens())
                .isEqualTo(raw.get("usage").get("prompt_tokens").asInt());
    }

    @Test
    void springAiStreamWithUsage() throws Exception {
        JsonNode raw = raw();
        List<ChatResponse> responses = springAi(true).stream(new Prompt("Hi")).collectList().block();
        assertThat(responses).isNotNull().hasSizeGreaterThan(1);
        StringBuilder text = new StringBuilder();
        for (ChatResponse r : responses) {
            if (r.getResult() != null && r.getResult().getOutput().getText() != null) {
                text.append(r.getResult().getOutput().getText());
            }
        }
        assertThat(text.toString()).isEqualTo(text(raw));
        ChatResponse last = responses.get(responses.size() - 1);
        assertThat(last.getMetadata().getUsage().getCompletionTokens()).isEqualTo(completionTokens(raw));
        assertThat(last.getMetadata().getUsage().getTotalTokens()).isEqualTo(raw.get("usage").get("total_tokens").asInt());
    }

    @Test
    void langChain4jCall() throws Exception {
        JsonNode raw = raw();
        dev.langchain4j.model.openai.OpenAiChatModel model = dev.langchain4j.model.openai.OpenAiChatModel.builder()
                .baseUrl(baseUrl() + "/v1")
                .apiKey("not-needed")
                .modelName(MODEL)
                .temperature(0.0)
                .maxTokens(MAX_TOKENS)
                .build();
        var response = model.chat(ChatRequest.builder().messages(UserMessage.from("Hi")).build());
        assertThat(response.aiMessage().text()).isEqualTo(text(raw));
        assertThat(response.tokenUsage().outputTokenCount()).isEqualTo(completionTokens(raw));
    }

    @Test
    void langChain4jStreaming() throws Exception {
        JsonNode raw = raw();
        OpenAiStreamingChatModel model = OpenAiStreamingChatModel.builder()
                .baseUrl(baseUrl() + "/v1")
                .apiKey("not-needed")
                .modelName(MODEL)
                .temperature(0.0)
                .maxTokens(MAX_TOKENS)
                .build();
        StringBuilder partial = new StringBuilder();
        var response = LangChain4jStreams.await(model, ChatRequest.builder().messages(UserMessage.from("Hi")).build(),
                partial, Duration.ofSeconds(60));
        assertThat(partial.toString()).isEqualTo(text(raw));
        assertThat(response.aiMessage().text()).isEqualTo(text(raw));
        assertThat(response.finishReason().name())
                .isEqualTo(raw.get("choices").get(0).get("finish_reason").asString().equals("length") ? "LENGTH" : "STOP");
        assertThat(response.tokenUsage().outputTokenCount()).isEqualTo(completionTokens(raw));
    }
}
