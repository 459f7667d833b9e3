package dev.llamaserve.engine;

/**
 * A request that passed {@link GenerationRequest#validate}: every parameter is in range and the prompt plus
 * {@code maxTokens} fit the model's context.
 *
 * @param request the request as given
 * @param maxTokens the completion-token limit: {@code max_tokens}, or what is left of the context when unset
 */
public record ValidatedRequest(GenerationRequest request, int maxTokens) {

    /** The most tokens the sequence can hold: prompt plus completion. */
    public int maxSequenceLength() {
        return request.promptTokenIds().length + maxTokens;
    }
}
