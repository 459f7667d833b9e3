package dev.llamaserve.engine;

import java.util.List;

/**
 * What a request's stream carries: token steps, then exactly one {@link Finished}, per choice. A request with
 * {@code n > 1} interleaves its choices' events (each carries its choice's index) and the stream ends with the
 * last choice's {@code Finished}, the one whose {@link Finished#last()} is true.
 */
public sealed interface EngineEvent {

    /**
     * One or more generated tokens and the text they completed.
     *
     * @param tokenIds the new token ids (special tokens included)
     * @param text the text delta; may be empty when bytes of an incomplete UTF-8 character or a
     *     possible stop-string prefix are held back; special tokens never appear in it
     * @param logprobs one entry per token id when the request asked for logprobs, else empty
     * @param index the choice (0 to n - 1)
     */
    record Tokens(int[] tokenIds, String text, List<TokenLogprob> logprobs, int index) implements EngineEvent {
        public Tokens {
            logprobs = logprobs == null ? List.of() : logprobs;
        }

        /** Tokens of choice 0. */
        public Tokens(int[] tokenIds, String text, List<TokenLogprob> logprobs) {
            this(tokenIds, text, logprobs, 0);
        }
    }

    /**
     * The end of the stream.
     *
     * @param reason why generation ended
     * @param usage token counts
     * @param text text released at the end (held-back bytes), usually empty
     * @param stopReason with {@link FinishReason#STOP}: the stop string matched, or the stop token id generated,
     *     except the tokenizer's end-of-sequence id ({@link dev.llamaserve.engine.ModelInfo#eosTokenId}), as vLLM's
     *     {@code stop_reason}; null for it and for every other end
     * @param errorMessage set when reason is {@link FinishReason#ERROR}
     * @param index the choice it ends (0 to n - 1); its usage counts that choice's completion tokens
     * @param last true on the request's last event (every choice has finished)
     * @param requestError with {@link FinishReason#ERROR}: the request itself caused the error (what it asks cannot
     *     be done, such as a schema too ambiguous to enforce), so the same request fails the same way again
     */
    record Finished(FinishReason reason, Usage usage, String text, Object stopReason, String errorMessage, int index,
            boolean last, boolean requestError) implements EngineEvent {

        /** The end of a request with one choice. */
        public Finished(FinishReason reason, Usage usage, String text, Object stopReason, String errorMessage) {
            this(reason, usage, text, stopReason, errorMessage, 0, true);
        }

        /** The end of one choice, not caused by an error of the request. */
        public Finished(FinishReason reason, Usage usage, String text, Object stopReason, String errorMessage,
                int index, boolean last) {
            this(reason, usage, text, stopReason, errorMessage, index, last, false);
        }
    }

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

        /**
         * A request's usage from its choices' (OpenAI's counting): the prompt once, the completion tokens summed,
         * the cached tokens those of the prompt's first computation (choice 0's). Null entries (unknown) are
         * skipped; null when all are.
         */
        public static Usage ofChoices(List<Usage> choices) {
            Usage first = null;
            int completion = 0;
            for (Usage u : choices) {
                if (u != null) {
                    first = first == null ? u : first;
                    completion += u.completionTokens();
                }
            }
            return first == null ? null : new Usage(first.promptTokens(), completion, first.cachedTokens());
        }
    }

    enum FinishReason {
        STOP, LENGTH, ABORT, ERROR;

        public String wireName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
