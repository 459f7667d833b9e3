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
 *       The head of the queue blocks those behind it (no overtaking). With prefix caching on, the
 *       sequence's first full blocks come from the cache where they hold the same tokens, and only the
 *       rest is computed.</li>
 * </ol>
 *
 * <p>Sibling sequences of one request ({@code n > 1}) are added with {@link #add(Sequence, Sequence)}: they
 * wait aside until their leader has computed its prompt, so with prefix caching the prompt's full blocks
 * are computed once and shared; each sibling then computes only the tokens of its last, partial block.
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
    /** Siblings held back until their leader's prompt is computed (then they join the waiting queue's front). */
    private final List<Sibling> deferred = new ArrayList<>();

    private record Sibling(Sequence sequence, Sequence leader) {}

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

    /**
     * Queues {@code seq}, a sibling of {@code leader} with the same prompt, to be admitted once the leader has
     * computed its prompt (or finished, or was preempted), so that it finds the prompt's blocks cached.
     * Without prefix caching it is queued at once.
     */
    public void add(Sequence seq, Sequence leader) {
        if (!kv.prefixCaching() || leaderDone(leader)) {
            add(seq);
            return;
        }
        if (seq.status() != Sequence.Status.WAITING || seq.admittedOnce()) {
            throw new IllegalArgumentException("not a new sequence: " + seq);
        }
        deferred.add(new Sibling(seq, leader));
    }

    private static boolean leaderDone(Sequence leader) {
        return leader.isFinished() || leader.preemptions() > 0 || leader.numComputed() >= leader.promptLength();
    }
    public int numWaiting() {
        return waiting.size() + deferred.size();
    }

    public int numRunning() {
        return running.size();
    }

    public boolean hasWork() {
        return !running.isEmpty() || !waiting.isEmpty() || !deferred.isEmpty();
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
                int cached = kv.allocateWithPrefix(seq.id(), seq::tokenAt, seq.numTokens());
                if (cached < 0) {
                    break;
                }
                waiting.pollFirst();
                if (!seq.admittedOnce()) {
                    admitted.add(seq);
                }
                seq.admit(cached);
                insertByArrival(seq);
                int n = Math.min(Math.min(seq.numUncomputed(), budget), config.maxChunkTokens());
                scheduled.add(new SchedulerOutput.Scheduled(seq, seq.numComputed(), n,
                        seq.numComputed() + n == seq.numTokens()));
                budget -= n;
            }
        }
        return new SchedulerOutput(scheduled, preempted, admitted);
    }

    /**
     * Records that the step ran: each scheduled sequence's computed count advances, its full computed blocks
     * enter the prefix cache, and siblings whose leader has computed its prompt join the waiting queue.
     */
    public void complete(SchedulerOutput out) {
        for (SchedulerOutput.Scheduled s : out.scheduled()) {
            Sequence seq = s.sequence();
            if (!seq.isFinished()) {
                seq.advance(s.numTokens());
                kv.cacheComputed(seq.id(), seq::tokenAt, seq.numComputed());
            }
        }
        releaseSiblings();
    }

    private void releaseSiblings() {
        if (deferred.isEmpty()) {
            return;
        }
        List<Sequence> ready = new ArrayList<>();
        deferred.removeIf(d -> leaderDone(d.leader()) && ready.add(d.sequence()));
        // Older than anything queued behind their leader: to the front, in order.
        for (int i = ready.size() - 1; i >= 0; i--) {
            waiting.addFirst(ready.get(i));
        }
    }

    /**
     * Removes a sequence wherever it is (waiting or running) and frees its KV at once.
     *
     * @return true if it was known to the scheduler
     */
    public boolean finish(Sequence seq) {
        boolean known = running.remove(seq) || waiting.remove(seq) || deferred.removeIf(d -> d.sequence() == seq);
        kv.free(seq.id());
        seq.finish();
        releaseSiblings();
        return known;
    }

    private void preemptOne(Sequence victim) {
        kv.free(victim.id());
        victim.preempt();
        releaseSiblings();
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
