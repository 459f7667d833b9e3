package dev.llamaserve.engine.scheduler;

/**
 * @param maxNumBatchedTokens token budget of one step (decodes and prefill chunks together)
 * @param maxNumSeqs most sequences running at once
 */
public record SchedulerConfig(int maxNumBatchedTokens, int maxNumSeqs) {
    public SchedulerConfig {
        if (maxNumBatchedTokens < 1) {
            throw new IllegalArgumentException("maxNumBatchedTokens must be >= 1, was " + maxNumBatchedTokens);
        }
        if (maxNumSeqs < 1) {
            throw new IllegalArgumentException("maxNumSeqs must be >= 1, was " + maxNumSeqs);
        }
    }
}
