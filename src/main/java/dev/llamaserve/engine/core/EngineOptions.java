package dev.llamaserve.engine.core;

import java.time.Duration;

/**
 * The {@code llm.engine.*} settings.
 *
 * @param maxNumBatchedTokens token budget of one step, decodes and prefill chunks together
 *     ({@code max-num-batched-tokens}, default 2048)
 * @param maxNumSeqs most sequences running at once ({@code max-num-seqs}, default 16)
 * @param maxWaiting requests accepted but not yet admitted; beyond it submit fails with
 *     {@code Overloaded} ({@code max-waiting}, default 256)
 * @param maxBufferedEvents events a consumer may leave undelivered before its request is aborted with
 *     an error ({@code max-buffered-events}, default 4096)
 * @param blockSize KV-cache block size in tokens (default 16)
 * @param kvTokenBudget token slots of the model's KV pool the engine uses; 0: all of it
 * @param drainTimeout how long {@code close()} lets running requests finish before aborting them
 * @param maxConsecutiveFailures failed steps in a row after which the engine is marked failed
 * @param prefixCaching keep full KV blocks by content after their request ends and let a new request whose
 *     prompt starts with them skip their prefill ({@code prefix-caching}, default true)
 */
public record EngineOptions(
        int maxNumBatchedTokens,
        int maxNumSeqs,
        int maxWaiting,
        int maxBufferedEvents,
        int blockSize,
        int kvTokenBudget,
        Duration drainTimeout,
        int maxConsecutiveFailures,
        boolean prefixCaching) {

    public EngineOptions {
        checkLimits(maxNumBatchedTokens, maxNumSeqs, maxWaiting, maxBufferedEvents, blockSize);
        positive("maxConsecutiveFailures", maxConsecutiveFailures);
        if (kvTokenBudget < 0) {
            throw new IllegalArgumentException("kvTokenBudget must be >= 0, was " + kvTokenBudget);
        }
        if (drainTimeout == null || drainTimeout.isNegative()) {
            throw new IllegalArgumentException("drainTimeout must be >= 0, was " + drainTimeout);
        }
    }

    public static EngineOptions defaults() {
        return new EngineOptions(2048, 16, 256, 4096, 16, 0, Duration.ofSeconds(30), 3, true);
    }

    /**
     * Both limits of a step at once: they are checked against each other, so setting them one after the other
     * would check the first against the other's default (8 batched tokens against the default 16 sequences).
     */
    public EngineOptions withBatchLimits(int maxNumBatchedTokens, int maxNumSeqs) {
        return new EngineOptions(maxNumBatchedTokens, maxNumSeqs, maxWaiting, maxBufferedEvents, blockSize,
                kvTokenBudget, drainTimeout, maxConsecutiveFailures, prefixCaching);
    }

    public EngineOptions withMaxNumBatchedTokens(int v) {
        return new EngineOptions(v, maxNumSeqs, maxWaiting, maxBufferedEvents, blockSize, kvTokenBudget,
                drainTimeout, maxConsecutiveFailures, prefixCaching);
    }

    public EngineOptions withMaxNumSeqs(int v) {
        return new EngineOptions(maxNumBatchedTokens, v, maxWaiting, maxBufferedEvents, blockSize, kvTokenBudget,
                drainTimeout, maxConsecutiveFailures, prefixCaching);
    }

    public EngineOptions withMaxWaiting(int v) {
        return new EngineOptions(maxNumBatchedTokens, maxNumSeqs, v, maxBufferedEvents, blockSize, kvTokenBudget,
                drainTimeout, maxConsecutiveFailures, prefixCaching);
    }

    public EngineOptions withMaxBufferedEvents(int v) {
        return new EngineOptions(maxNumBatchedTokens, maxNumSeqs, maxWaiting, v, blockSize, kvTokenBudget,
                drainTimeout, maxConsecutiveFailures, prefixCaching);
    }

    public EngineOptions withBlockSize(int v) {
        return new EngineOptions(maxNumBatchedTokens, maxNumSeqs, maxWaiting, maxBufferedEvents, v, kvTokenBudget,
                drainTimeout, maxConsecutiveFailures, prefixCaching);
    }

    public EngineOptions withKvTokenBudget(int v) {
        return new EngineOptions(maxNumBatchedTokens, maxNumSeqs, maxWaiting, maxBufferedEvents, blockSize, v,
                drainTimeout, maxConsecutiveFailures, prefixCaching);
    }

    public EngineOptions withDrainTimeout(Duration v) {
        return new EngineOptions(maxNumBatchedTokens, maxNumSeqs, maxWaiting, maxBufferedEvents, blockSize,
                kvTokenBudget, v, maxConsecutiveFailures, prefixCaching);
    }

    public EngineOptions withMaxConsecutiveFailures(int v) {
        return new EngineOptions(maxNumBatchedTokens, maxNumSeqs, maxWaiting, maxBufferedEvents, blockSize,
                kvTokenBudget, drainTimeout, v, prefixCaching);
    }

    public EngineOptions withPrefixCaching(boolean v) {
        return new EngineOptions(maxNumBatchedTokens, maxNumSeqs, maxWaiting, maxBufferedEvents, blockSize,
                kvTokenBudget, drainTimeout, maxConsecutiveFailures, v);
    }

    /**
     * The settings' own rule, named as they are set ({@code llm.engine.*}): also checked where they are bound, so
     * that a wrong value stops the start at once, not after the weights have loaded.
     */
    public static void checkLimits(int maxNumBatchedTokens, int maxNumSeqs, int maxWaiting, int maxBufferedEvents,
            int blockSize) {
        positive("llm.engine.max-num-batched-tokens", maxNumBatchedTokens);
        positive("llm.engine.max-num-seqs", maxNumSeqs);
        positive("llm.engine.max-waiting", maxWaiting);
        positive("llm.engine.max-buffered-events", maxBufferedEvents);
        positive("llm.engine.block-size", blockSize);
        if (maxNumBatchedTokens < maxNumSeqs) {
            throw new IllegalArgumentException("llm.engine.max-num-batched-tokens (" + maxNumBatchedTokens
                    + ") must be >= llm.engine.max-num-seqs (" + maxNumSeqs
                    + "): every running decode needs a token each step");
        }
    }

    private static void positive(String name, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, was " + v);
        }
    }
}
