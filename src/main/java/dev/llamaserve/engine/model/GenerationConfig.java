package dev.llamaserve.engine.model;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The checkpoint's {@code generation_config.json}: its token ids and default sampling settings.
 * A field is null (or the list empty) when the file or the key is absent; the {@code default…}
 * methods say what the service uses then. Built by {@link GenerationConfigParser}.
 *
 * @param bosTokenId {@code bos_token_id}
 * @param eosTokenIds {@code eos_token_id}, an int or a list in the file
 * @param temperature {@code temperature}
 * @param topP {@code top_p}
 * @param topK {@code top_k}
 * @param repetitionPenalty {@code repetition_penalty}
 * @param doSample {@code do_sample}
 */
public record GenerationConfig(
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        Double temperature,
        Double topP,
        Integer topK,
        Double repetitionPenalty,
        Boolean doSample) {

    /** No {@code generation_config.json}: nothing set. */
    public static final GenerationConfig ABSENT = new GenerationConfig(null, List.of(), null, null, null, null, null);

    public GenerationConfig {
        eosTokenIds = eosTokenIds == null ? List.of() : List.copyOf(eosTokenIds);
    }

    /**
     * The default temperature of a request that sets none: 0 (greedy) when the file says
     * {@code do_sample: false}, as transformers' {@code generate} then ignores temperature; else the
     * file's temperature, else 1.0 (OpenAI's default).
     */
    public double defaultTemperature() {
        if (Boolean.FALSE.equals(doSample)) {
            return 0.0;
        }
        return temperature != null ? temperature : 1.0;
    }

    /** The file's top_p, else 1.0 (off). */
    public double defaultTopP() {
        return topP != null ? topP : 1.0;
    }

    /**
     * The file's top_k, else 0 (off). Note: transformers would use 50 when sampling without a
     * top_k; like vLLM, only keys the file sets are used as defaults here.
     */
    public int defaultTopK() {
        return topK != null ? topK : 0;
    }

    /** The file's repetition_penalty, else 1.0 (off). */
    public double defaultRepetitionPenalty() {
        return repetitionPenalty != null ? repetitionPenalty : 1.0;
    }

    /**
     * Ids that end a completion: this file's eos ids followed by any of {@code config.json}'s that
     * it lacks (Llama 3.1: end_of_text, eom, eot in both).
     */
    public Set<Integer> stopTokenIds(ModelConfig config) {
        return stopTokenIds(config, Optional.empty());
    }

    /**
     * {@link #stopTokenIds(ModelConfig)} and the tokenizer's own eos token ({@code tokenizer_config.json}'s
     * {@code eos_token}), on which vLLM stops too: a fine-tune without this file whose config.json names only
     * end_of_text still ends its chat turns at the tokenizer's {@code <|eot_id|>}.
     */
    public Set<Integer> stopTokenIds(ModelConfig config, Optional<Integer> tokenizerEos) {
        Set<Integer> ids = new LinkedHashSet<>(eosTokenIds);
        ids.addAll(config.eosTokenIds());
        tokenizerEos.ifPresent(ids::add);
        return Set.copyOf(ids);
    }
}
