package dev.llamaserve.engine.sampling;

import dev.llamaserve.engine.ModelInfo;
import java.util.Set;

/**
 * What a request that sets nothing gets: the checkpoint's {@code generation_config.json} settings.
 *
 * @param temperature default temperature (0 when the file says {@code do_sample: false})
 * @param topP default top_p (1: off)
 * @param topK default top_k (0: off)
 * @param eosTokenIds ids that end a completion unless {@code ignore_eos}
 * @param repetitionPenalty default repetition_penalty (1: off), as vLLM takes it from the file too
 */
public record SamplingDefaults(double temperature, double topP, int topK, Set<Integer> eosTokenIds,
        double repetitionPenalty) {

    public SamplingDefaults {
        eosTokenIds = Set.copyOf(eosTokenIds);
    }

    public SamplingDefaults(double temperature, double topP, int topK, Set<Integer> eosTokenIds) {
        this(temperature, topP, topK, eosTokenIds, 1.0);
    }

    /** The defaults {@link ModelInfo} carries (temperature, top_p, eos ids; no top_k). */
    public static SamplingDefaults of(ModelInfo info) {
        return new SamplingDefaults(info.defaultTemperature(), info.defaultTopP(), 0, info.eosTokenIds());
    }
}
