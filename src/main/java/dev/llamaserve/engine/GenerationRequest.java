package dev.llamaserve.engine;

import java.util.Objects;

/**
 * A validated request: the prompt as token ids and how to sample the continuation.
 *
 * @param requestId unique id, used for abort and in logs (never the prompt text)
 * @param promptTokenIds the full prompt, {@code <|begin_of_text|>} included
 * @param params sampling parameters, already range-checked
 */
public record GenerationRequest(String requestId, int[] promptTokenIds, SamplingParams params) {
    public GenerationRequest {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(promptTokenIds, "promptTokenIds");
        Objects.requireNonNull(params, "params");
        if (promptTokenIds.length == 0) {
            throw new IllegalArgumentException("promptTokenIds is empty");
        }
    }
}
