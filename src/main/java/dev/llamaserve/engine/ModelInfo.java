package dev.llamaserve.engine;

import java.util.Set;

/**
 * What callers need to know about the served model.
 *
 * @param maxModelLen the longest sequence (prompt + completion) the engine accepts
 * @param vocabSize logits per step
 * @param eosTokenIds stop ids from {@code generation_config.json}
 * @param defaultTemperature from {@code generation_config.json} (1.0 if absent)
 * @param defaultTopP from {@code generation_config.json} (1.0 if absent)
 * @param demo true for the built-in random-weight demo checkpoint
 */
public record ModelInfo(
        int maxModelLen,
        int vocabSize,
        Set<Integer> eosTokenIds,
        double defaultTemperature,
        double defaultTopP,
        boolean demo) {}
