package dev.llamaserve.engine;

/**
 * A snapshot of the engine.
 *
 * @param state lifecycle state
 * @param waiting requests queued, not yet admitted
 * @param running sequences admitted (prefilling or decoding)
 * @param kvBlocksUsed KV-cache blocks in use
 * @param kvBlocksTotal KV-cache blocks in the pool
 * @param lastBatchSize sequences in the most recent step
 * @param maxRecentBatchSize largest batch among recent steps
 * @param steps progress counter: engine steps executed (a liveness check watches it move)
 * @param preemptions sequences preempted so far
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
        long preemptions) {

    public double kvUsage() {
        return kvBlocksTotal == 0 ? 0.0 : (double) kvBlocksUsed / kvBlocksTotal;
    }
}
