package dev.llamaserve.engine.core;

import dev.llamaserve.engine.EngineException;
import dev.llamaserve.engine.InvalidRequestException;
import dev.llamaserve.engine.scheduler.Sequence;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The engine's requests: by id (any thread: submit, abort), by sequence (engine thread), and the count of
 * those accepted but not yet admitted, which the waiting-queue limit bounds.
 */
final class RequestTable {

    private final int maxWaiting;
    private final AtomicInteger waiting = new AtomicInteger();
    private final ConcurrentHashMap<String, RequestState> active = new ConcurrentHashMap<>();
    // Engine thread only.
    private final Map<Long, RequestState> bySequence = new HashMap<>();

    RequestTable(int maxWaiting) {
        this.maxWaiting = maxWaiting;
    }

    /** Any thread: counts the request as waiting and registers its id. */
    void add(RequestState rs) {
        int w;
        do {
            w = waiting.get();
            if (w >= maxWaiting) {
                throw new EngineException.Overloaded("waiting queue is full (" + maxWaiting + " requests); retry later");
            }
        } while (!waiting.compareAndSet(w, w + 1));
        if (active.putIfAbsent(rs.request.requestId(), rs) != null) {
            waiting.decrementAndGet();
            throw new InvalidRequestException("request_id", "duplicate_request_id",
                    "request id " + rs.request.requestId() + " is already in use");
        }
    }

    /** Any thread: takes back an {@link #add} whose request never reached the engine thread. */
    void undoAdd(RequestState rs) {
        active.remove(rs.request.requestId(), rs);
        waiting.decrementAndGet();
    }

    RequestState get(String requestId) {
        return active.get(requestId);
    }

    int waiting() {
        return waiting.get();
    }

    /** Engine thread: the request now has its sequence. */
    void admitted(RequestState rs) {
        bySequence.put(rs.sequence.id(), rs);
    }

    /** Engine thread: the scheduler took these sequences in; they no longer count as waiting. */
    void scheduled(List<Sequence> admitted) {
        for (Sequence s : admitted) {
            RequestState rs = bySequence.get(s.id());
            if (rs != null) {
                stopCountingWaiting(rs);
            }
        }
    }

    RequestState bySequence(long sequenceId) {
        return bySequence.get(sequenceId);
    }

    /** Engine thread: forgets a finished request. */
    void remove(RequestState rs) {
        stopCountingWaiting(rs);
        if (rs.sequence != null) {
            bySequence.remove(rs.sequence.id());
        }
        active.remove(rs.request.requestId(), rs);
    }

    /** Engine thread: every request that has a sequence. */
    List<RequestState> admittedRequests() {
        return new ArrayList<>(bySequence.values());
    }

    private void stopCountingWaiting(RequestState rs) {
        if (rs.countedWaiting) {
            rs.countedWaiting = false;
            waiting.decrementAndGet();
        }
    }
}
