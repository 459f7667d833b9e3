package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.chat.ChatOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * llm.api.accept-any-model, on the controller's request preparation: the scripted engine (only its model
 * info is read) with the tiny fixture's real tokenizer and chat format.
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

    @Test
    void otherModelIsServedWhenAcceptAnyModel() {
        ChatCompletionsController.Prepared p = controller(true).prepare("r1", body);
        assertThat(p.request().promptTokenIds()).isNotEmpty();
        assertThat(p.params().model()).isEqualTo("gpt-4o");
    }
}
