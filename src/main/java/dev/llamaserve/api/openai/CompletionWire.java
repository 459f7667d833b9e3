package dev.llamaserve.api.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/** Wire records of the legacy {@code /v1/completions} (response and stream chunk share one shape). */
public final class CompletionWire {

    private CompletionWire() {}

    /** object is "text_completion" for responses and stream chunks alike. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Completion(String id, String object, long created, String model, List<Choice> choices,
            ChatWire.Usage usage) {
        public Completion(String id, long created, String model, List<Choice> choices, ChatWire.Usage usage) {
            this(id, "text_completion", created, model, choices, usage);
        }
    }

    /** @param stopReason as {@link ChatWire.Choice}'s; null on every streamed chunk but a choice's last */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Choice(int index, String text, Logprobs logprobs, String finishReason, Object stopReason) {}

    /** The legacy logprobs shape: parallel lists, one entry per token. */
    public record Logprobs(List<Integer> textOffset, List<Double> tokenLogprobs, List<String> tokens,
            List<java.util.Map<String, Double>> topLogprobs) {}
}
