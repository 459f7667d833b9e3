package dev.llamaserve.ops.metrics;

import dev.llamaserve.engine.EngineEvent;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the metering decorator saw of one request: when it was submitted, when its first and latest tokens
 * were delivered, how it ended. Events arrive serially from one stream; the end can also be declared by an
 * abort from another thread, so ending is once-only.
 */
public final class RequestTrace {

    private final String requestId;
    private final int promptTokens;
    private final long submittedNanos;
    private final AtomicBoolean subscribed = new AtomicBoolean();
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile long firstTokenNanos = -1;
    /** Per choice ({@code n > 1}), when its latest token event was delivered ({@link #NONE}: none yet). */
    private volatile long[] lastTokenNanos = {NONE};
    private static final long NONE = Long.MIN_VALUE;
    private volatile int tokensSeen;
    private volatile int earlierChoicesTokens;
    private volatile boolean disconnected;
    private volatile Summary summary;

    RequestTrace(String requestId, int promptTokens, long submittedNanos) {
        this.requestId = requestId;
        this.promptTokens = promptTokens;
        this.submittedNanos = submittedNanos;
    }

    /**
     * How a request ended, for the access log.
     *
     * @param finishReason the engine's finish reason ({@code stop}, {@code length}, {@code abort}, {@code error})
     * @param promptTokens prompt tokens
     * @param completionTokens generated tokens
     * @param ttftNanos submit to first token, or -1 when no token came
     * @param disconnected the caller went away (cancelled or aborted) before the request finished
     */
    public record Summary(String finishReason, int promptTokens, int completionTokens, long ttftNanos,
            boolean disconnected) {}

    String requestId() {
        return requestId;
    }

    /** True once, for the first subscriber. */
    boolean claimSubscription() {
        return subscribed.compareAndSet(false, true);
    }

    boolean subscribed() {
        return subscribed.get();
    }

    /** {@link #tokens}: the request's first token event (a time to first token, not a gap). */
    static final long FIRST = -1;
    /** {@link #tokens}: the first token event of a later choice (neither: no gap within that choice yet). */
    static final long CHOICE_FIRST = -2;

    /**
     * A token event was delivered at {@code now}; returns the gap since the previous event of the same choice
     * (a client of choice i sees its tokens that far apart, not those of all n choices interleaved, as vLLM
     * meters each child request), or {@link #FIRST}, or {@link #CHOICE_FIRST}.
     */
    long tokens(EngineEvent.Tokens t, long now) {
        int choice = Math.max(0, t.index());
        long[] last = lastTokenNanos;
        if (choice >= last.length) {
            int known = last.length;
            last = Arrays.copyOf(last, choice + 1);
            Arrays.fill(last, known, last.length, NONE);
            lastTokenNanos = last;
        }
        long previous = last[choice];
        last[choice] = now;
        tokensSeen += t.tokenIds().length;
        if (firstTokenNanos < 0) {
            firstTokenNanos = now;
            return FIRST;
        }
        return previous == NONE ? CHOICE_FIRST : now - previous;
    }

    long ttftNanos() {
        long first = firstTokenNanos;
        return first < 0 ? -1 : first - submittedNanos;
    }

    long sinceSubmit(long now) {
        return now - submittedNanos;
    }

    /** Marks the caller gone; true the first time, if the request had not ended yet. */
    boolean markDisconnected() {
        if (ended.get() || disconnected) {
            return false;
        }
        disconnected = true;
        return true;
    }

    /** A choice other than the request's last ended ({@code n > 1}): its completion tokens count at the end. */
    void choiceFinished(EngineEvent.Finished f) {
        if (f.usage() != null) {
            earlierChoicesTokens += f.usage().completionTokens();
        }
    }

    /** Ends the trace with the engine's own finish; null if it had already ended. */
    Summary end(EngineEvent.Finished f) {
        EngineEvent.Usage u = f.usage();
        return end(f.reason(), u == null ? promptTokens : u.promptTokens(),
                u == null ? tokensSeen : earlierChoicesTokens + u.completionTokens());
    }

    /** Ends the trace as aborted with what was seen (the engine's final event will not be observed). */
    Summary endAborted() {
        return end(EngineEvent.FinishReason.ABORT, tokensSeen > 0 ? promptTokens : 0, tokensSeen);
    }

    private Summary end(EngineEvent.FinishReason reason, int prompt, int completion) {
        if (!ended.compareAndSet(false, true)) {
            return null;
        }
        Summary s = new Summary(reason.wireName(), prompt, completion, ttftNanos(), disconnected);
        summary = s;
        return s;
    }

    /** The summary once ended; else what is known so far (finish reason null). */
    public Summary summary() {
        Summary s = summary;
        return s != null ? s : new Summary(null, tokensSeen > 0 ? promptTokens : 0, tokensSeen, ttftNanos(), disconnected);
    }
}
