package dev.llamaserve.engine.core;

import dev.llamaserve.engine.EngineException;
import dev.llamaserve.engine.InvalidRequestException;
import dev.llamaserve.engine.scheduler.Sequence;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The engine's requests: by id (any thread: submit, abort), by sequence (engine thread), and the count of
 * those accepted but not yet admitted, which the waiting-queue limit bounds.
 */
final class RequestTable {

    private final int maxWaiting;
    private final AtomicInteger waiting = new AtomicInteger();
    /** Accepted, not yet handed to the scheduler by the engine thread (the scheduler's queues count the rest). */
    private final AtomicInteger notAdmitted = new AtomicInteger();
    private final ConcurrentHashMap<String, RequestState> active = new ConcurrentHashMap<>();
    // Engine thread only.
    private final Map<Long, SequenceState> bySequence = new HashMap<>();

    RequestTable(int maxWaiting) {
        this.maxWaiting = maxWaiting;
    }

    /** Any thread: throws what {@link #add} would throw now for a full waiting queue. */
    void checkRoom() {
        if (waiting.get() >= maxWaiting) {
            throw full();
        }
    }

    private EngineException.Overloaded full() {
        return new EngineException.Overloaded("waiting queue is full (" + maxWaiting + " requests); retry later");
    }

    /** Any thread: counts the request as waiting and registers its id. */
    void add(RequestState rs) {
        int w;
        do {
            w = waiting.get();
            if (w >= maxWaiting) {
                throw full();
            }
        } while (!waiting.compareAndSet(w, w + 1));
        if (active.putIfAbsent(rs.request.requestId(), rs) != null) {
            waiting.decrementAndGet();
            throw new InvalidRequestException("request_id", "duplicate_request_id",
                    "request id " + rs.request.requestId() + " is already in use");
        }
        notAdmitted.incrementAndGet();
    }

    /** Any thread: takes back an {@link #add} whose request never reached the engine thread. */
    void undoAdd(RequestState rs) {
        active.remove(rs.request.requestId(), rs);
        waiting.decrementAndGet();
        notAdmitted.decrementAndGet();
    }

    /** Any thread: requests accepted that the engine thread has not handed to the scheduler yet. */
    int notAdmitted() {
        return notAdmitted.get();
    }

    RequestState get(String requestId) {
        return active.get(requestId);
    }

    /** Any thread: every request accepted and not yet finished (admitted or not). */
    List<RequestState> open() {
        return new ArrayList<>(active.values());
    }

    int waiting() {
        return waiting.get();
    }

    /** Engine thread: the request now has its sequences, one per choice (the scheduler's queues count them). */
    void admitted(RequestState rs) {
        notAdmitted.decrementAndGet();
        for (SequenceState ss : rs.choices) {
            bySequence.put(ss.sequence.id(), ss);
        }
    }

    /** Engine thread: the scheduler took these sequences in; they no longer count as waiting. */
    void scheduled(List<Sequence> admitted) {
        for (Sequence s : admitted) {
            SequenceState ss = bySequence.get(s.id());
            if (ss != null) {
                stopCountingWaiting(ss.request);
            }
        }
    }

    SequenceState bySequence(long sequenceId) {
        return bySequence.get(sequenceId);
    }

    /** Engine thread: a choice finished; its sequence is gone. */
    void removeSequence(SequenceState ss) {
        bySequence.remove(ss.sequence.id());
    }

    /** Engine thread: forgets a finished request (one never admitted, too: then it stops counting as such). */
    void remove(RequestState rs) {
        stopCountingWaiting(rs);
        if (rs.choices != null) {
            for (SequenceState ss : rs.choices) {
                bySequence.remove(ss.sequence.id());
            }
        } else {
            notAdmitted.decrementAndGet();
        }
        active.remove(rs.request.requestId(), rs);
    }

    /** Engine thread: every request that has a sequence still running or waiting. */
    List<RequestState> admittedRequests() {
        Set<RequestState> out = new LinkedHashSet<>();
        for (SequenceState ss : bySequence.values()) {
            out.add(ss.request);
        }
        return new ArrayList<>(out);
    }

    private void stopCountingWaiting(RequestState rs) {
        if (rs.countedWaiting) {
            rs.countedWaiting = false;
            waiting.decrementAndGet();
        }
    }
}
