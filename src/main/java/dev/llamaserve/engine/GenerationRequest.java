package dev.llamaserve.engine;

import java.util.Objects;

/**
 * A request as the caller built it: the prompt as token ids and how to sample the continuation. Nothing is
 * range-checked here; {@link #validate} is the one place that checks every rule (the engine calls it on
 * submit, so each caller gets the same 400s).
 *
 * @param requestId unique id, used for abort and in logs (never the prompt text)
 * @param promptTokenIds the full prompt, {@code <|begin_of_text|>} included
 * @param params sampling parameters as the caller gave them
 * @param names the caller's names for the prompt, max-tokens and logprobs fields, for error messages
 */
public record GenerationRequest(String requestId, int[] promptTokenIds, SamplingParams params, ParamNames names) {

    public GenerationRequest {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(promptTokenIds, "promptTokenIds");
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(names, "names");
        if (promptTokenIds.length == 0) {
            throw new IllegalArgumentException("promptTokenIds is empty");
        }
    }

    /** A request whose errors name the completions API's fields ({@code prompt}, {@code max_tokens}, {@code logprobs}). */
    public GenerationRequest(String requestId, int[] promptTokenIds, SamplingParams params) {
        this(requestId, promptTokenIds, params, ParamNames.COMPLETIONS);
    }

    /**
     * Checks every range and the context-length rule against the model: each failure is an
     * {@link InvalidRequestException} naming the field, the limit and the value.
     *
     * @return the request with its completion-token limit resolved
     */
    public ValidatedRequest validate(ModelInfo model) {
        return RequestRules.check(this, model);
    }

    /**
     * The context-length rule's bound on a prompt: it leaves room for at least one completion token (the engine's
     * validation, and the chat layer's early refusal of a prompt far over it, ask this).
     */
    public static int maxPromptTokens(int maxModelLen) {
        return maxModelLen - 1;
    }

    /**
     * The request's field names as its API spells them.
     *
     * @param prompt {@code messages} for chat, {@code prompt} for completions
     * @param maxTokens {@code max_tokens} or {@code max_completion_tokens}
     * @param logprobs {@code top_logprobs} for chat, {@code logprobs} for completions
     */
    public record ParamNames(String prompt, String maxTokens, String logprobs) {
        public static final ParamNames CHAT = new ParamNames("messages", "max_tokens", "top_logprobs");
        public static final ParamNames COMPLETIONS = new ParamNames("prompt", "max_tokens", "logprobs");

        public ParamNames withMaxTokens(String name) {
            return new ParamNames(prompt, name, logprobs);
        }
    }
}
