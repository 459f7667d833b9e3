package dev.llamaserve.engine.core;

import dev.llamaserve.engine.EngineState;
import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.kv.BlockManager;
import dev.llamaserve.engine.scheduler.Scheduler;

/**
 * The engine thread's counters (steps, preemptions, recent batch sizes) and the snapshot that other threads
 * read through {@link #stats}.
 */
final class StatsRecorder {

    private static final int RECENT_STEPS = 32;

    private final Scheduler scheduler;
    private final BlockManager kv;
    // Engine thread only.
    private final int[] recentBatch = new int[RECENT_STEPS];
    private long steps;
    private long preemptions;
    private long tokensComputed;
    private long cacheQueryTokens;
    private long cacheHitTokens;
    // Written by the engine thread only, read by any: the grammar's share of the step.
    private volatile long maskNanos;
    private volatile long masks;
    private volatile long stepNanos;
    private volatile long timedSteps;
    private long stepStart;
    /** Tokens of the step in progress (0: none), and the slowest time per token of a step of enough of them. */
    private volatile int stepTokens;
    private volatile long slowestNanosPerToken;
    private volatile Snapshot snapshot = new Snapshot(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    private record Snapshot(int running, int waiting, long kvUsed, int lastBatch, int maxRecentBatch, long steps,
            long preemptions, long tokensComputed, long cacheQueryTokens, long cacheHitTokens, long kvCached) {}

    StatsRecorder(Scheduler scheduler, BlockManager kv) {
        this.scheduler = scheduler;
        this.kv = kv;
    }

    /** Engine thread: the grammar work for one sampled token (mask, accept, next mask) took {@code nanos}. */
    void grammarMask(long nanos) {
        maskNanos += nanos;
        masks++;
    }

    /** Engine thread: a step begins (its time runs to {@link #stepDone}). */
    void stepStarted() {
        stepStart = System.nanoTime();
    }

    /** Totals since start: grammar masks computed and their time, steps and their time. */
    LlmEngine.MaskCost maskCost() {
        return new LlmEngine.MaskCost(masks, maskNanos, timedSteps, stepNanos);
    }

    void preempted(int sequences) {
        preemptions += sequences;
    }

    /** Engine thread: a sequence admitted for the first time looked up {@code prompt} tokens and found {@code hit} cached. */
    void cacheLookup(int prompt, int hit) {
        cacheQueryTokens += prompt;
        cacheHitTokens += hit;
    }

    /** Engine thread: the step in progress runs {@code tokens} tokens through the model. */
    void stepScheduled(int tokens) {
        stepTokens = tokens;
    }

    /** Engine thread: the model ran {@code tokens} tokens this step. */
    void computed(int tokens) {
        tokensComputed += tokens;
    }

    /** Engine thread: a step ran (or failed) with {@code batch} sequences. */
    void stepDone(int batch) {
        if (stepStart != 0) {
            long took = System.nanoTime() - stepStart;
            stepNanos += took;
            timedSteps++;
            stepStart = 0;
            if (stepTokens >= EngineStats.MIN_RATE_TOKENS) {
                slowestNanosPerToken = Math.max(slowestNanosPerToken, took / stepTokens);
            }
        }
        stepTokens = 0;
        steps++;
        recentBatch[(int) (steps % RECENT_STEPS)] = batch;
        publish(batch);
    }

    /** Engine thread: publishes the current load (e.g. KV freed) without counting a step. */
    void publish() {
        publish(0);
    }

    /**
     * @param notInTheScheduler requests accepted that the engine thread has not handed to the scheduler yet; the
     *     sequences in the scheduler's queues (new, preempted, choices waiting for their prompt) come on top
     */
    EngineStats stats(EngineState state, int notInTheScheduler) {
        Snapshot s = snapshot;
        return new EngineStats(state, notInTheScheduler + s.waiting(), s.running(), s.kvUsed(), kv.totalBlocks(), s.lastBatch(),
                s.maxRecentBatch(), s.steps(), s.preemptions(), s.tokensComputed(), s.cacheQueryTokens(), s.cacheHitTokens(), s.kvCached(),
                (long) stepTokens * slowestNanosPerToken);
    }

    private void publish(int lastBatch) {
        int max = 0;
        for (int b : recentBatch) {
            max = Math.max(max, b);
        }
        snapshot = new Snapshot(scheduler.numRunning(), scheduler.numWaiting(), kv.usedBlocks(),
                lastBatch == 0 ? snapshot.lastBatch() : lastBatch, max, steps, preemptions, tokensComputed,
                cacheQueryTokens, cacheHitTokens, kv.cachedBlocks());
    }
}
