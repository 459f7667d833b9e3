package dev.llamaserve.engine.scheduler;

import java.util.Arrays;

/**
 * A request's token sequence as the scheduler sees it: the prompt, the tokens generated so far, and how
 * many of them already have their K/V in the cache ({@link #numComputed()}). A sequence whose computed
 * count is below its length is catching up (a prefill, or a recompute after preemption); one that is one
 * token short is decoding. Owned by the engine thread.
 */
public final class Sequence {

    public enum Status { WAITING, RUNNING, FINISHED }

    private final long id;
    private final String requestId;
    private final long arrival;
    private final int[] prompt;
    private int[] output = new int[16];
    private int outputLen;
    private int numComputed;
    private Status status = Status.WAITING;
    private boolean admittedOnce;
    private int preemptions;
    private int cachedPromptTokens;

    /**
     * @param id unique id, also the KV block-table key
     * @param arrival FCFS order: smaller is older
     */
    public Sequence(long id, String requestId, long arrival, int[] prompt) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt");
        }
        this.id = id;
        this.requestId = requestId;
        this.arrival = arrival;
        this.prompt = prompt.clone();
    }

    public long id() {
        return id;
    }

    public String requestId() {
        return requestId;
    }

    public long arrival() {
        return arrival;
    }

    public int promptLength() {
        return prompt.length;
    }

    public int outputLength() {
        return outputLen;
    }

    /** Prompt plus generated tokens. */
    public int numTokens() {
        return prompt.length + outputLen;
    }

    /** Tokens whose K/V are in the cache. */
    public int numComputed() {
        return numComputed;
    }

    /** Tokens still to run through the model before the next token can be sampled. */
    public int numUncomputed() {
        return numTokens() - numComputed;
    }

    public int tokenAt(int pos) {
        return pos < prompt.length ? prompt[pos] : output[pos - prompt.length];
    }

    public int[] promptTokens() {
        return prompt.clone();
    }

    public void appendToken(int token) {
        if (outputLen == output.length) {
            output = Arrays.copyOf(output, outputLen * 2);
        }
        output[outputLen++] = token;
    }

    public Status status() {
        return status;
    }

    public boolean isFinished() {
        return status == Status.FINISHED;
    }

    public int preemptions() {
        return preemptions;
    }

    /** Prompt tokens whose K/V came from the prefix cache at the first admission (not computed for it). */
    public int cachedPromptTokens() {
        return cachedPromptTokens;
    }

    boolean admittedOnce() {
        return admittedOnce;
    }

    /** Admitted with its first {@code cached} tokens' K/V already in the cache (shared blocks). */
    void admit(int cached) {
        if (cached < 0 || cached >= numTokens()) {
            throw new IllegalArgumentException("cached " + cached + " of " + numTokens() + " tokens");
        }
        if (!admittedOnce) {
            cachedPromptTokens = Math.min(cached, prompt.length);
        }
        status = Status.RUNNING;
        admittedOnce = true;
        numComputed = cached;
    }

    void preempt() {
        status = Status.WAITING;
        numComputed = 0;
        preemptions++;
    }

    void finish() {
        status = Status.FINISHED;
    }

    void advance(int tokens) {
        if (numComputed + tokens > numTokens()) {
            throw new IllegalStateException("computed past the end of sequence " + id);
        }
        numComputed += tokens;
    }

    @Override
    public String toString() {
        return "Sequence[" + id + " " + status + " computed " + numComputed + "/" + numTokens() + "]";
    }
}
