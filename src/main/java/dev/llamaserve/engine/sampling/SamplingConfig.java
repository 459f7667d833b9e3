package dev.llamaserve.engine.sampling;

import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.SamplingParams;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A request's sampling parameters with every default resolved (from the model's
 * {@code generation_config.json}, carried by {@link ModelInfo}).
 *
 * @param temperature below {@link #GREEDY_EPS} means greedy (argmax)
 * @param topP in (0, 1]; 1 disables (a request's top_p of 0 resolves to greedy: the nucleus of no mass is the most
 *     likely token alone)
 * @param topK 0 disables
 * @param minP 0 disables
 * @param seed null: a fresh random seed
 * @param logitBiasIds token ids with a bias, parallel to {@code logitBiasValues}
 * @param maxTokens completion limit (already bounded by the context length)
 * @param stopTokenIds ids that end generation: the model's eos ids (unless ignoreEos) and the request's
 * @param logprobs -1: none; 0: chosen token only; n: also the top n alternatives
 */
public record SamplingConfig(
        double temperature,
        double topP,
        int topK,
        double minP,
        Long seed,
        double presencePenalty,
        double frequencyPenalty,
        double repetitionPenalty,
        int[] logitBiasIds,
        float[] logitBiasValues,
        int maxTokens,
        int minTokens,
        boolean ignoreEos,
        int[] stopTokenIds,
        List<String> stop,
        int logprobs) {

    /** vLLM's threshold: temperatures below it sample greedily. */
    public static final double GREEDY_EPS = 1e-5;

    public boolean greedy() {
        return temperature < GREEDY_EPS;
    }

    public boolean isStopToken(int id) {
        return Arrays.binarySearch(stopTokenIds, id) >= 0;
    }

    /**
     * Whether the {@code generated}-th token (counting from 1) may end generation by a stop token or by
     * completing a stop string: only after {@code minTokens} tokens, as vLLM's sampler and detokenizer do.
     */
    public boolean stopsAllowed(int generated) {
        return generated > minTokens;
    }

    /** The same parameters with another seed (choice {@code i} of a request with {@code n > 1}). */
    public SamplingConfig withSeed(Long seed) {
        return new SamplingConfig(temperature, topP, topK, minP, seed, presencePenalty, frequencyPenalty,
                repetitionPenalty, logitBiasIds, logitBiasValues, maxTokens, minTokens, ignoreEos, stopTokenIds, stop,
                logprobs);
    }

    /**
     * Resolves a request's parameters.
     *
     * @param maxTokens the completion limit to use (the caller has checked it against the context)
     */
    public static SamplingConfig resolve(SamplingParams p, ModelInfo model, int maxTokens) {
        return resolve(p, SamplingDefaults.of(model), maxTokens);
    }

    /** Resolves a request's parameters against the generation-config defaults. */
    public static SamplingConfig resolve(SamplingParams p, SamplingDefaults model, int maxTokens) {
        double temperature = p.temperature() != null ? p.temperature() : model.temperature();
        double topP = p.topP() != null ? p.topP() : model.topP();
        if (topP == 0) {   // OpenAI allows 0: the limit of the nucleus as top_p falls, argmax after penalties and bias
            temperature = 0;
            topP = 1;
        }
        int topK = p.topK() != null ? Math.max(p.topK(), 0) : model.topK();
        double minP = p.minP() != null ? p.minP() : 0.0;
        int n = p.logitBias().size();
        int[] biasIds = new int[n];
        float[] biasValues = new float[n];
        int i = 0;
        for (Map.Entry<Integer, Double> e : p.logitBias().entrySet()) {
            biasIds[i] = e.getKey();
            biasValues[i] = e.getValue().floatValue();
            i++;
        }
        Set<Integer> stops = new TreeSet<>(p.stopTokenIds());
        if (!p.ignoreEos()) {
            stops.addAll(model.eosTokenIds());
        }
        int[] stopIds = stops.stream().mapToInt(Integer::intValue).toArray();
        return new SamplingConfig(temperature, topP, topK, minP, p.seed(), p.presencePenalty(),
                p.frequencyPenalty(), p.repetitionPenalty() != null ? p.repetitionPenalty() : model.repetitionPenalty(),
                biasIds, biasValues, maxTokens, p.minTokens(),
                p.ignoreEos(), stopIds, p.stop(), p.logprobs() == null ? -1 : p.logprobs());
    }
}
