package dev.llamaserve.engine;

/**
 * A snapshot of the engine.
 *
 * @param state lifecycle state
 * @param waiting sequences waiting to run: those of requests not yet scheduled, the choices of an {@code n} request
 *     waiting for their prompt, and preempted ones (as vLLM counts them: the queue an autoscaler watches)
 * @param running sequences admitted (prefilling or decoding)
 * @param kvBlocksUsed KV-cache blocks in use
 * @param kvBlocksTotal KV-cache blocks in the pool
 * @param lastBatchSize sequences in the most recent step
 * @param maxRecentBatchSize largest batch among recent steps
 * @param steps progress counter: engine steps executed (a liveness check watches it move)
 * @param preemptions sequences preempted so far
 * @param tokensComputed tokens run through the model so far (prefill and decode; prompt tokens served from
 *     the prefix cache are not among them)
 * @param prefixCacheQueryTokens prompt tokens looked up in the prefix cache so far (every first admission's prompt)
 * @param prefixCacheHitTokens prompt tokens served from the prefix cache so far, at first admission
 * @param kvBlocksCached KV-cache blocks registered in the prefix cache (referenced or not)
 * @param expectedStepNanos how long the step in progress should take at the slowest rate per token seen in steps
 *     of at least {@link #MIN_RATE_TOKENS} tokens; 0 when no step runs or no rate is known yet (a
 *     liveness check allows a long step, one prefill chunk of a large model on a CPU, this long)
 */
public record EngineStats(
        EngineState state,
        int waiting,
        int running,
        long kvBlocksUsed,
        long kvBlocksTotal,
        int lastBatchSize,
        int maxRecentBatchSize,
        long steps,
        long preemptions,
        long tokensComputed,
        long prefixCacheQueryTokens,
        long prefixCacheHitTokens,
        long kvBlocksCached,
        long expectedStepNanos) {

    /**
     * Steps of fewer tokens (decodes of a few sequences) read the weights more than they compute: they give no
     * rate for {@link #expectedStepNanos}. The warm-up runs one step this long, so that the first long prefill
     * chunk has a rate to be judged by.
     */
    public static final int MIN_RATE_TOKENS = 16;

    /** A snapshot without the token and prefix-cache counters (engines that keep none). */
    public EngineStats(EngineState state, int waiting, int running, long kvBlocksUsed, long kvBlocksTotal,
            int lastBatchSize, int maxRecentBatchSize, long steps, long preemptions) {
        this(state, waiting, running, kvBlocksUsed, kvBlocksTotal, lastBatchSize, maxRecentBatchSize, steps,
                preemptions, 0, 0, 0, 0, 0);
    }

    public double kvUsage() {
        return kvBlocksTotal == 0 ? 0.0 : (double) kvBlocksUsed / kvBlocksTotal;
    }
}
