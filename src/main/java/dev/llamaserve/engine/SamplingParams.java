package dev.llamaserve.engine;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Per-request sampling parameters. Null fields mean "use the model's default" (from
 * {@code generation_config.json}); the engine resolves them at submit time.
 *
 * @param temperature 0 means greedy
 * @param topP in [0, 1] (0 keeps the most likely token alone)
 * @param topK -1 or 0: disabled (below -1 is refused)
 * @param minP 0: disabled
 * @param seed when set, the request's draws depend only on this seed and its own logits
 * @param presencePenalty OpenAI semantics, [-2, 2]
 * @param frequencyPenalty OpenAI semantics, [-2, 2]
 * @param repetitionPenalty HF/vLLM semantics, 1 = off; applies to prompt and output tokens (null: the model's
 *     {@code generation_config.json} value, else off)
 * @param logitBias token id to bias added to its logit
 * @param maxTokens completion token limit (null: up to the context length)
 * @param minTokens tokens generated before a stop token or the completion of a stop string may end generation
 * @param ignoreEos keep generating past eos ids
 * @param stopTokenIds extra stop ids besides the model's eos ids
 * @param stop up to 4 stop strings, matched on decoded text, never emitted
 * @param logprobs null: none; 0: the chosen token's logprob; n (≤ 20): also the top n alternatives
 * @param constraint what the output must be (JSON, a schema, tool calls); null: free text
 * @param n independent completions of the prompt (null: 1; at most {@link #MAX_N}); choice {@code i} samples
 *     with {@link #choiceSeed seed + i} when a seed is set
 */
public record SamplingParams(
        Double temperature,
        Double topP,
        Integer topK,
        Double minP,
        Long seed,
        double presencePenalty,
        double frequencyPenalty,
        Double repetitionPenalty,
        Map<Integer, Double> logitBias,
        Integer maxTokens,
        int minTokens,
        boolean ignoreEos,
        Set<Integer> stopTokenIds,
        List<String> stop,
        Integer logprobs,
        OutputConstraint constraint,
        Integer n) {

    public static final int MAX_STOP_STRINGS = 4;
    public static final int MAX_N = 16;
    public static final int MAX_TOP_LOGPROBS = 20;

    public SamplingParams {
        logitBias = logitBias == null ? Map.of() : Map.copyOf(logitBias);
        stopTokenIds = stopTokenIds == null ? Set.of() : Set.copyOf(stopTokenIds);
        stop = stop == null ? List.of() : List.copyOf(stop);
    }

    /** Completions asked for: {@code n}, 1 when unset. */
    public int choices() {
        return n == null ? 1 : n;
    }

    /**
     * The seed of choice {@code index}: {@code seed + index} (wrapping), so choice {@code i} of a seeded request
     * draws exactly what a single request with seed {@code seed + i} draws; null when no seed is set.
     */
    public Long choiceSeed(int index) {
        return seed == null ? null : seed + index;
    }

    /** Greedy decoding of up to {@code maxTokens} tokens with nothing else set. */
    public static SamplingParams greedy(int maxTokens) {
        return builder().temperature(0.0).maxTokens(maxTokens).build();
    }

    /** All defaults: the model's generation config decides. */
    public static SamplingParams defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.temperature = temperature; b.topP = topP; b.topK = topK; b.minP = minP; b.seed = seed;
        b.presencePenalty = presencePenalty; b.frequencyPenalty = frequencyPenalty;
        b.repetitionPenalty = repetitionPenalty; b.logitBias = logitBias; b.maxTokens = maxTokens;
        b.minTokens = minTokens; b.ignoreEos = ignoreEos; b.stopTokenIds = stopTokenIds; b.stop = stop;
        b.logprobs = logprobs; b.constraint = constraint; b.n = n;
        return b;
    }

    public static final class Builder {
        private Double temperature;
        private Double topP;
        private Integer topK;
        private Double minP;
        private Long seed;
        private double presencePenalty;
        private double frequencyPenalty;
        private Double repetitionPenalty;
        private Map<Integer, Double> logitBias = Map.of();
        private Integer maxTokens;
        private int minTokens;
        private boolean ignoreEos;
        private Set<Integer> stopTokenIds = Set.of();
        private List<String> stop = List.of();
        private Integer logprobs;
        private OutputConstraint constraint;
        private Integer n;

        public Builder temperature(Double v) { temperature = v; return this; }
        public Builder topP(Double v) { topP = v; return this; }
        public Builder topK(Integer v) { topK = v; return this; }
        public Builder minP(Double v) { minP = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder presencePenalty(double v) { presencePenalty = v; return this; }
        public Builder frequencyPenalty(double v) { frequencyPenalty = v; return this; }
        public Builder repetitionPenalty(double v) { repetitionPenalty = v; return this; }
        public Builder repetitionPenalty(Double v) { repetitionPenalty = v; return this; }
        public Builder logitBias(Map<Integer, Double> v) { logitBias = v; return this; }
        public Builder maxTokens(Integer v) { maxTokens = v; return this; }
        public Builder minTokens(int v) { minTokens = v; return this; }
        public Builder ignoreEos(boolean v) { ignoreEos = v; return this; }
        public Builder stopTokenIds(Set<Integer> v) { stopTokenIds = v; return this; }
        public Builder stop(List<String> v) { stop = v; return this; }
        public Builder logprobs(Integer v) { logprobs = v; return this; }
        public Builder constraint(OutputConstraint v) { constraint = v; return this; }
        public Builder n(Integer v) { n = v; return this; }

        public SamplingParams build() {
            return new SamplingParams(temperature, topP, topK, minP, seed, presencePenalty,
                    frequencyPenalty, repetitionPenalty, logitBias, maxTokens, minTokens, ignoreEos,
                    stopTokenIds, stop, logprobs, constraint, n);
        }
    }
}
