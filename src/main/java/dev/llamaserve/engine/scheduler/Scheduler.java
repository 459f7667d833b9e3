package dev.llamaserve.engine.scheduler;

import dev.llamaserve.engine.kv.BlockManager;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Continuous-batching scheduler (the vLLM v1 policy, no separate prefill and decode phases). Each step
 * hands out at most {@code maxNumBatchedTokens} tokens:
 *
 * <ol>
 *   <li>Running sequences first, oldest first: each gets what it still has to compute (one token for a
 *       decode, the rest of its prompt for a prefill), capped by the remaining budget and by the
 *       model's per-sequence chunk limit. A decode that
 *       needs a new KV block and finds none preempts the youngest running sequence (its blocks freed,
 *       its tokens kept, recomputed later) until the block can be had; if the youngest is itself, it
 *       is preempted and skipped.</li>
 *   <li>Then, only if nothing was preempted this step, waiting sequences in FCFS order, while budget
 *       and {@code maxNumSeqs} allow. A sequence is admitted only when blocks for all its current
 *       tokens (prompt, plus output kept from a preemption) can be had; then it gets a first chunk.
 *       The head of the queue blocks those behind it (no overtaking).</li>
 * </ol>
 *
 * <p>A long prompt is thus consumed in chunks alongside the running decodes, which keep receiving a
 * token every step. Not thread-safe: owned by the engine thread.
 */
public final class Scheduler {

    private final SchedulerConfig config;
    private final BlockManager kv;
    /** Sorted by arrival, oldest first; the last one is the preemption victim. */
    private final List<Sequence> running = new ArrayList<>();
    private final Deque<Sequence> waiting = new ArrayDeque<>();

    public Scheduler(SchedulerConfig config, BlockManager kv) {
        this.config = config;
        this.kv = kv;
    }

    public BlockManager kv() {
        return kv;
    }

    public SchedulerConfig config() {
        return config;
    }

    /** Queues a new sequence behind the waiting ones. */
    public void add(Sequence seq) {
        if (seq.status() != Sequence.Status.WAITING || seq.admittedOnce()) {
            throw new IllegalArgumentException("not a new sequence: " + seq);
        }
        waiting.addLast(seq);
    }

    public int numWaiting() {
        return waiting.size();
    }

    public int numRunning() {
        return running.size();
    }

    public boolean hasWork() {
        return !running.isEmpty() || !waiting.isEmpty();
    }

    /** A snapshot of the running sequences, oldest first. */
    public List<Sequence> running() {
        return List.copyOf(running);
    }

    /** A snapshot of the waiting queue, head first. */
    public List<Sequence> waiting() {
        return List.copyOf(waiting);
    }

    public SchedulerOutput schedule() {
        int budget = config.maxNumBatchedTokens();
        List<SchedulerOutput.Scheduled> scheduled = new ArrayList<>();
        List<Sequence> preempted = new ArrayList<>();
        List<Sequence> admitted = new ArrayList<>();

        int i = 0;
        while (i < running.size() && budget > 0) {
            Sequence seq = running.get(i);
            int n = Math.min(Math.min(seq.numUncomputed(), budget), config.maxChunkTokens());
            if (n <= 0) {
                i++;
                continue;
            }
            boolean ok = true;
            while (!kv.growTo(seq.id(), seq.numComputed() + n)) {
                Sequence victim = running.remove(running.size() - 1);
                preemptOne(victim);
                preempted.add(victim);
                if (victim == seq) {
                    ok = false;
                    break;
                }
            }
            if (!ok) {
                break; // seq was the youngest: nothing after it remains
            }
            scheduled.add(new SchedulerOutput.Scheduled(seq, seq.numComputed(), n,
                    seq.numComputed() + n == seq.numTokens()));
            budget -= n;
            i++;
        }

        if (preempted.isEmpty()) {
            while (!waiting.isEmpty() && budget > 0 && running.size() < config.maxNumSeqs()) {
                Sequence seq = waiting.peekFirst();
                if (!kv.growTo(seq.id(), seq.numTokens())) {
                    break;
                }
                waiting.pollFirst();
                if (!seq.admittedOnce()) {
                    admitted.add(seq);
                }
                seq.admit();
                insertByArrival(seq);
                int n = Math.min(Math.min(seq.numUncomputed(), budget), config.maxChunkTokens());
                scheduled.add(new SchedulerOutput.Scheduled(seq, seq.numComputed(), n,
                        seq.numComputed() + n == seq.numTokens()));
                budget -= n;
            }
        }
        return new SchedulerOutput(scheduled, preempted, admitted);
    }

    /** Records that the step ran: each scheduled sequence's computed count advances. */
    public void complete(SchedulerOutput out) {
        for (SchedulerOutput.Scheduled s : out.scheduled()) {
            if (!s.sequence().isFinished()) {
                s.sequence().advance(s.numTokens());
            }
        }
    }

    /**
     * Removes a sequence wherever it is (waiting or running) and frees its KV at once.
     *
     * @return true if it was known to the scheduler
     */
    public boolean finish(Sequence seq) {
        boolean known = running.remove(seq) || waiting.remove(seq);
        kv.free(seq.id());
        seq.finish();
        return known;
    }

    private void preemptOne(Sequence victim) {
        kv.free(victim.id());
        victim.preempt();
        // The last one preempted is the oldest of this step's victims: it goes first.
        waiting.addFirst(victim);
    }

    private void insertByArrival(Sequence seq) {
        int at = running.size();
        while (at > 0 && running.get(at - 1).arrival() > seq.arrival()) {
            at--;
        }
        running.add(at, seq);
    }
}
