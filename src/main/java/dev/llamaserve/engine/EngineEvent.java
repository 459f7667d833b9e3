package dev.llamaserve.engine;

import java.util.List;

/** What a request's stream carries: token steps, then exactly one {@link Finished}. */
public sealed interface EngineEvent {

    /**
     * One or more generated tokens and the text they completed.
     *
     * @param tokenIds the new token ids (special tokens included)
     * @param text the text delta; may be empty when bytes of an incomplete UTF-8 character or a
     *     possible stop-string prefix are held back; special tokens never appear in it
     * @param logprobs one entry per token id when the request asked for logprobs, else empty
     */
    record Tokens(int[] tokenIds, String text, List<TokenLogprob> logprobs) implements EngineEvent {
        public Tokens {
            logprobs = logprobs == null ? List.of() : logprobs;
        }
    }

    /**
     * The end of the stream.
     *
     * @param reason why generation ended
     * @param usage token counts
     * @param text text released at the end (held-back bytes), usually empty
     * @param stopReason the matched stop string or stop token id, or null
     * @param errorMessage set when reason is {@link FinishReason#ERROR}
     */
    record Finished(FinishReason reason, Usage usage, String text, Object stopReason, String errorMessage)
            implements EngineEvent {}

    /** The chosen token's logprob and the top alternatives (most likely first). */
    record TokenLogprob(int tokenId, float logprob, List<TopLogprob> top) {}

    record TopLogprob(int tokenId, float logprob) {}

    /**
     * @param promptTokens tokens of the prompt
     * @param completionTokens tokens generated
     * @param cachedTokens prompt tokens whose K/V came from the prefix cache, not computed for this request
     *     (OpenAI's {@code prompt_tokens_details.cached_tokens})
     */
    record Usage(int promptTokens, int completionTokens, int cachedTokens) {
        public Usage(int promptTokens, int completionTokens) {
            this(promptTokens, completionTokens, 0);
        }

        public int totalTokens() {
            return promptTokens + completionTokens;
        }
    }

    enum FinishReason {
        STOP, LENGTH, ABORT, ERROR;

        public String wireName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
