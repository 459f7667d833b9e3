package dev.llamaserve.engine;

import dev.llamaserve.engine.grammar.Grammar;

/**
 * A request that passed {@link GenerationRequest#validate}: every parameter is in range and the prompt plus
 * {@code maxTokens} fit the model's context.
 *
 * @param request the request as given
 * @param maxTokens the completion-token limit: {@code max_tokens}, or what is left of the context when unset
 * @param grammar the compiled {@link SamplingParams#constraint()}, or null for free text
 */
public record ValidatedRequest(GenerationRequest request, int maxTokens, Grammar grammar) {

    /** A free-text request. */
    public ValidatedRequest(GenerationRequest request, int maxTokens) {
        this(request, maxTokens, null);
    }

    /** The most tokens the sequence can hold: prompt plus completion. */
    public int maxSequenceLength() {
        return request.promptTokenIds().length + maxTokens;
    }
}
