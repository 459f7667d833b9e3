package dev.llamaserve.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Every rule of {@link GenerationRequest#validate}: the field it names, its code, and the numbers in its message. */
class GenerationRequestValidationTest {

    private static final ModelInfo MODEL = new ModelInfo(100, 1000, Set.of(2), 0.6, 0.9, false, null);
    private static final int[] PROMPT = {1, 5, 7, 9};

    private static GenerationRequest request(UnaryOperator<SamplingParams.Builder> params) {
        return request(PROMPT, params, GenerationRequest.ParamNames.CHAT);
    }

    private static GenerationRequest request(int[] prompt, UnaryOperator<SamplingParams.Builder> params,
            GenerationRequest.ParamNames names) {
        return new GenerationRequest("r", prompt, params.apply(SamplingParams.builder()).build(), names);
    }

    private static void rejected(GenerationRequest r, String param, String code, String... messageParts) {
        assertThatThrownBy(() -> r.validate(MODEL)).isInstanceOfSatisfying(InvalidRequestException.class, e -> {
            assertThat(e.param()).isEqualTo(param);
            assertThat(e.code()).isEqualTo(code);
            assertThat(e.getMessage()).contains(messageParts);
        });
    }

    @Test
    void aValidRequestResolvesItsCompletionLimit() {
        assertThat(request(b -> b).validate(MODEL).maxTokens()).isEqualTo(96); // what the context leaves
        assertThat(request(b -> b.maxTokens(10)).validate(MODEL).maxTokens()).isEqualTo(10);
        assertThat(request(b -> b.maxTokens(96)).validate(MODEL).maxSequenceLength()).isEqualTo(100); // exactly fits
        assertThat(request(b -> b.temperature(2.0).topP(1.0).topK(-1).minP(0.0).presencePenalty(-2)
                .frequencyPenalty(2).repetitionPenalty(100).logitBias(Map.of(999, -100.0)).stop(List.of("a", "b", "c", "d"))
                .stopTokenIds(Set.of(0, 999)).logprobs(20).minTokens(5).maxTokens(5)).validate(MODEL).maxTokens())
                .isEqualTo(5);
    }

    @Test
    void contextLength() {
        rejected(request(new int[100], b -> b, GenerationRequest.ParamNames.CHAT), "messages",
                "context_length_exceeded", "maximum context length is 100 tokens", "messages resulted in 100 tokens",
                "no room for a completion");
        rejected(request(b -> b.maxTokens(97)), "max_tokens", "context_length_exceeded",
                "maximum context length is 100 tokens", "you requested 101 tokens", "(4 in the messages, 97 in the completion)");
        rejected(request(PROMPT, b -> b.maxTokens(97), GenerationRequest.ParamNames.CHAT.withMaxTokens("max_completion_tokens")),
                "max_completion_tokens", "context_length_exceeded", "you requested 101 tokens");
    }

    @Test
    void completionsRequestsNameTheirOwnFields() {
        rejected(request(new int[100], b -> b, GenerationRequest.ParamNames.COMPLETIONS), "prompt",
                "context_length_exceeded", "your prompt resulted in 100 tokens");
        rejected(request(PROMPT, b -> b.maxTokens(200), GenerationRequest.ParamNames.COMPLETIONS), "max_tokens",
                "context_length_exceeded", "(4 in the prompt, 200 in the completion)");
        rejected(request(new int[] {1, 1000}, b -> b, GenerationRequest.ParamNames.COMPLETIONS), "prompt",
                "invalid_value", "token id 1000 at position 1", "[0, 1000)");
        rejected(request(PROMPT, b -> b.logprobs(21), GenerationRequest.ParamNames.COMPLETIONS), "logprobs",
                "invalid_value", "[0, 20]", "got 21");
        rejected(request(b -> b.logprobs(21)), "top_logprobs", "invalid_value", "[0, 20]", "got 21");
    }

    @Test
    void promptTokenIdsInsideTheVocabulary() {
        rejected(request(new int[] {1, -3}, b -> b, GenerationRequest.ParamNames.CHAT), "messages", "invalid_value",
                "token id -3 at position 1", "[0, 1000)");
    }

    @Test
    void maxAndMinTokens() {
        rejected(request(b -> b.maxTokens(0)), "max_tokens", "invalid_value", "at least 1", "got 0");
        rejected(request(b -> b.maxTokens(-5)), "max_tokens", "invalid_value", "got -5");
        rejected(request(b -> b.maxTokens(5).minTokens(6)), "min_tokens", "invalid_value", "[0, 5]", "got 6");
        rejected(request(b -> b.minTokens(-1)), "min_tokens", "invalid_value", "got -1");
    }

    @Test
    void stopStringsAndIds() {
        rejected(request(b -> b.stop(List.of("a", "b", "c", "d", "e"))), "stop", "invalid_value", "at most 4", "got 5");
        rejected(request(b -> b.stop(List.of("a", ""))), "stop", "invalid_value", "must not be empty");
        // half an emoji would cut the answer inside a character
        rejected(request(b -> b.stop(List.of("\ude00"))), "stop", "invalid_value", "unpaired UTF-16 surrogate", "de00");
        rejected(request(b -> b.stop(List.of("x\ud83d"))), "stop", "invalid_value", "unpaired UTF-16 surrogate", "d83d");
        assertThat(request(b -> b.stop(List.of("\ud83d\ude00"))).validate(MODEL).request().params().stop())
                .as("a whole emoji is a stop string").containsExactly("😀");
        rejected(request(b -> b.stopTokenIds(Set.of(1000))), "stop_token_ids", "invalid_value", "[0, 999]", "got 1000");
    }

    @Test
    void logitBias() {
        rejected(request(b -> b.logitBias(Map.of(1000, 1.0))), "logit_bias", "invalid_value", "[0, 1000)", "got 1000");
        rejected(request(b -> b.logitBias(Map.of(5, 100.5))), "logit_bias", "invalid_value", "[-100, 100]", "got 100.5");
    }

    @Test
    void samplingRanges() {
        rejected(request(b -> b.temperature(-0.5)), "temperature", "invalid_value", "[0, 2]", "got -0.5");
        rejected(request(b -> b.temperature(2.0000001)), "temperature", "invalid_value", "[0, 2]", "got 2.0000001");
        rejected(request(b -> b.temperature(Double.NaN)), "temperature", "invalid_value", "got NaN");
        rejected(request(b -> b.topP(-0.5)), "top_p", "invalid_value", "[0, 1]", "got -0.5");
        rejected(request(b -> b.topP(1.5)), "top_p", "invalid_value", "[0, 1]", "got 1.5");
        rejected(request(b -> b.topK(-2)), "top_k", "invalid_value", "-1 (off) or positive", "got -2");
        rejected(request(b -> b.minP(1.5)), "min_p", "invalid_value", "[0, 1]", "got 1.5");
        rejected(request(b -> b.presencePenalty(2.5)), "presence_penalty", "invalid_value", "[-2, 2]", "got 2.5");
        rejected(request(b -> b.frequencyPenalty(-3)), "frequency_penalty", "invalid_value", "[-2, 2]", "got -3");
        rejected(request(b -> b.repetitionPenalty(0)), "repetition_penalty", "invalid_value", "(0, 100]", "got 0");
        rejected(request(b -> b.repetitionPenalty(Double.POSITIVE_INFINITY)), "repetition_penalty", "invalid_value",
                "got Infinity");
    }
}
