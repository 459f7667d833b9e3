package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.chat.ChatOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;
import tools.jackson.databind.JsonNode;

/**
 * llm.api.accept-any-model, on the chat controller's request preparation and on {@code GET /v1/models/{id}}: the
 * scripted engine (only its model info is read) with the tiny fixture's real tokenizer and chat format.
 */
class AcceptAnyModelTest {

    private final ServedModel served = new ServedModel("meta-llama/Llama-3.1-8B-Instruct", List.of("llama3"));
    private final byte[] body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"
            .getBytes(StandardCharsets.UTF_8);

    private ChatCompletionsController controller(boolean acceptAny) {
        return new ChatCompletionsController(new ScriptedEngine(FixtureTokenizer.get()),
                new ChatFormat(FixtureTokenizer.get(), new ChatOptions(ChatOptions.DEFAULT_DATE, false, 256, ChatOptions.Enabled.TRUE)), served,
                new ApiSettings(acceptAny, 1024 * 1024, Duration.ofSeconds(5), Duration.ofSeconds(1)), TokenAdmission.OPEN);
    }

    @Test
    void otherModelIs404ByDefault() {
        assertThatThrownBy(() -> controller(false).prepare("r1", body))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(404);
                    assertThat(e.code()).isEqualTo("model_not_found");
                    assertThat(e.param()).isEqualTo("model");
                });
    }

    private static ApiSettings settings(boolean acceptAny) {
        return new ApiSettings(acceptAny, 1024 * 1024, Duration.ofSeconds(5), Duration.ofSeconds(1));
    }

    private ModelsController models(boolean acceptAny) {
        return new ModelsController(new ScriptedEngine(FixtureTokenizer.get()), served, settings(acceptAny));
    }

    @Test
    void retrievingAnotherModelIs404ByDefault() {
        MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.get("/v1/models/gpt-4o"));
        assertThatThrownBy(() -> models(false).get("/gpt-4o", exchange).block())
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(404);
                    assertThat(e.code()).isEqualTo("model_not_found");
                });
    }

    @Test
    void retrievingAnotherModelAnswersItsCardWhenAcceptAnyModel() {
        MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.get("/v1/models/openai/gpt-4o"));
        models(true).get("/openai/gpt-4o", exchange).block();
        assertThat(exchange.getResponse().getStatusCode().value()).isEqualTo(200);
        JsonNode card = OpenAiJson.MAPPER.readTree(exchange.getResponse().getBodyAsString().block());
        assertThat(card.get("id").asString()).isEqualTo("openai/gpt-4o");
        assertThat(card.get("object").asString()).isEqualTo("model");
        assertThat(card.get("root").asString()).isEqualTo("meta-llama/Llama-3.1-8B-Instruct");
        assertThat(card.get("max_model_len").asInt()).isEqualTo(ScriptedEngine.MAX_MODEL_LEN);
    }

    @Test
    void otherModelIsServedWhenAcceptAnyModel() {
        ChatCompletionsController.Prepared p = controller(true).prepare("r1", body);
        assertThat(p.request().promptTokenIds()).isNotEmpty();
        assertThat(p.params().model()).isEqualTo("gpt-4o");
    }
}
