package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.chat.ToolCallParser;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineEvent.FinishReason;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The one finish-reason map, and what each endpoint makes of an engine error (no detail, the request id). */
class FinishReasonsTest {

    private static EngineEvent.Finished finished(FinishReason reason) {
        return new EngineEvent.Finished(reason, new EngineEvent.Usage(3, 2), "", null,
                reason == FinishReason.ERROR ? "model forward pass failed: CUDA error deadbeef" : null);
    }

    @Test
    void stopAndLengthAreOpenAiFinishReasons() {
        assertThat(FinishReasons.openAi(finished(FinishReason.STOP), "req-1")).isEqualTo("stop");
        assertThat(FinishReasons.openAi(finished(FinishReason.LENGTH), "req-1")).isEqualTo("length");
    }

    @Test
    void anEngineErrorIsAGeneric500WithTheRequestId() {
        assertThatThrownBy(() -> FinishReasons.openAi(finished(FinishReason.ERROR), "req-7"))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(500);
                    assertThat(e.code()).isEqualTo("internal_error");
                    assertThat(e.getMessage()).contains("req-7").doesNotContain("deadbeef").doesNotContain("forward pass");
                });
    }

    /** An error the request itself caused is the same 500, told not to be retried (a retry fails the same way). */
    @Test
    void anErrorTheRequestCausedIsA500NotToRetry() {
        assertThat(catchApiException(finished(FinishReason.ERROR)).noRetry()).as("an engine failure").isFalse();
        ApiException e = catchApiException(new EngineEvent.Finished(FinishReason.ERROR, new EngineEvent.Usage(3, 2), "",
                null, "the schema is too ambiguous to enforce: ...", 0, true, true));
        assertThat(e.status()).isEqualTo(500);
        assertThat(e.code()).isEqualTo("internal_error");
        assertThat(e.noRetry()).isTrue();
        assertThat(e.retry()).as("no Retry-After").isFalse();
        assertThat(e.getMessage()).contains("req-7").contains("fails the same way").doesNotContain("ambiguous");
    }

    private static ApiException catchApiException(EngineEvent.Finished f) {
        try {
            FinishReasons.openAi(f, "req-7");
        } catch (ApiException e) {
            return e;
        }
        throw new AssertionError("no ApiException for " + f);
    }

    @Test
    void anAbortIsA503() {
        assertThatThrownBy(() -> FinishReasons.openAi(finished(FinishReason.ABORT), "req-1"))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(503);
                    assertThat(e.code()).isEqualTo("aborted");
                });
    }

    @Test
    void everyChatPathUsesTheMap() {
        ChatResponses responses = new ChatResponses("chatcmpl-1", 7, "m");
        ChatCompletionCollector collector = new ChatCompletionCollector(responses, false, ToolCallParser.Calls.ANY, null, null, "req-9");
        assertThat(collector.finish(finished(FinishReason.LENGTH)).choices().get(0).finishReason()).isEqualTo("length");
        assertThatThrownBy(() -> new ChatCompletionCollector(responses, false, ToolCallParser.Calls.ANY, null, null, "req-9")
                .finish(finished(FinishReason.ERROR)))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.getMessage()).contains("req-9")
                        .doesNotContain("deadbeef"));

        List<String> frames = new ChatStreamAssembler(responses, false, ToolCallParser.Calls.ANY, null, null, false, "req-9")
                .onEvent(finished(FinishReason.ERROR));
        assertThat(frames).hasSize(2);
        assertThat(frames.get(0)).contains("internal_error").contains("req-9").doesNotContain("deadbeef");
        assertThat(frames.get(1)).isEqualTo(ChatStreamAssembler.DONE);
    }

    @Test
    void internalFailuresQuoteTheRequestIdAndNotTheirDetail() {
        ApiException e = ApiErrors.from(new IllegalStateException("secret detail"), null, "req-3");
        assertThat(e.status()).isEqualTo(500);
        assertThat(e.getMessage()).contains("req-3").doesNotContain("secret detail");
    }
}
