package dev.llamaserve.engine.scheduler;

import java.util.List;

/**
 * One step's plan.
 *
 * @param scheduled the sequences to run, each with the positions to compute, in batch order
 * @param preempted sequences preempted this step (their KV freed; they wait at the queue's front)
 * @param admitted sequences admitted from the waiting queue for the first time this step
 */
public record SchedulerOutput(List<Scheduled> scheduled, List<Sequence> preempted, List<Sequence> admitted) {

    public SchedulerOutput {
        scheduled = List.copyOf(scheduled);
        preempted = List.copyOf(preempted);
        admitted = List.copyOf(admitted);
    }

    /**
     * @param sequence the sequence
     * @param start first position computed this step (the sequence's computed count at scheduling)
     * @param numTokens positions {@code [start, start + numTokens)} are computed
     * @param samples true when this chunk reaches the sequence's end, so a token is sampled from its
     *     last row; false for a prefill chunk that leaves more to compute
     */
    public record Scheduled(Sequence sequence, int start, int numTokens, boolean samples) {}

    public boolean isEmpty() {
        return scheduled.isEmpty();
    }

    public int totalTokens() {
        int n = 0;
        for (Scheduled s : scheduled) {
            n += s.numTokens();
        }
        return n;
    }
}
