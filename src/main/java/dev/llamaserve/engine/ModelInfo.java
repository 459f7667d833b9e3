package dev.llamaserve.engine;

import java.util.Set;

/**
 * What callers need to know about the served model.
 *
 * @param maxModelLen the longest sequence (prompt + completion) the engine accepts
 * @param vocabSize the token ids a request may hold and the engine samples: the tokenizer's, where a padded
 *     checkpoint's vocab_size (its logits per step) is larger
 * @param eosTokenIds stop ids from {@code generation_config.json}
 * @param defaultTemperature from {@code generation_config.json} (1.0 if absent)
 * @param defaultTopP from {@code generation_config.json} (1.0 if absent)
 * @param demo true for the built-in random-weight demo checkpoint
 * @param eosTokenId the tokenizer's end-of-sequence id ({@code eos_token_id}, vLLM's too): a choice that ends on it
 *     has no stop reason, where one that ends on another stop id has that id as its stop reason (vLLM's
 *     {@code stop_reason}); null where the tokenizer names none
 */
public record ModelInfo(
        int maxModelLen,
        int vocabSize,
        Set<Integer> eosTokenIds,
        double defaultTemperature,
        double defaultTopP,
        boolean demo,
        Integer eosTokenId) {}
