package dev.llamaserve.engine.scheduler;

/**
 * @param maxNumBatchedTokens token budget of one step (decodes and prefill chunks together)
 * @param maxNumSeqs most sequences running at once
 * @param maxChunkTokens most new tokens of one sequence in one step (the model's chunk limit)
 */
public record SchedulerConfig(int maxNumBatchedTokens, int maxNumSeqs, int maxChunkTokens) {
    public SchedulerConfig {
        if (maxNumBatchedTokens < 1) {
            throw new IllegalArgumentException("maxNumBatchedTokens must be >= 1, was " + maxNumBatchedTokens);
        }
        if (maxNumSeqs < 1) {
            throw new IllegalArgumentException("maxNumSeqs must be >= 1, was " + maxNumSeqs);
        }
        if (maxChunkTokens < 1) {
            throw new IllegalArgumentException("maxChunkTokens must be >= 1, was " + maxChunkTokens);
        }
    }

    /** No chunk limit beyond the step's budget. */
    public SchedulerConfig(int maxNumBatchedTokens, int maxNumSeqs) {
        this(maxNumBatchedTokens, maxNumSeqs, Integer.MAX_VALUE);
    }
}
