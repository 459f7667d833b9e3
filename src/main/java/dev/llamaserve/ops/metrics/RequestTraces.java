package dev.llamaserve.ops.metrics;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The traces of requests in flight, and of the most recently ended ones until the access log reads them.
 * Ended traces are kept in a bounded map (oldest dropped first), so callers that never read them (the Spring AI
 * adapter) leave memory bounded.
 */
final class RequestTraces {

    private final Map<String, RequestTrace> live = new ConcurrentHashMap<>();
    private final Map<String, RequestTrace> ended;

    RequestTraces(int keepEnded) {
        this.ended = new LinkedHashMap<>(64, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, RequestTrace> eldest) {
                return size() > keepEnded;
            }
        };
    }

    /** Makes {@code trace} live; returns the live trace it displaced (one of the same request id), or null. */
    RequestTrace started(RequestTrace trace) {
        return live.put(trace.requestId(), trace);
    }

    /** Takes back a trace whose request the engine refused, putting back the one it had displaced, if any. */
    void withdraw(RequestTrace trace, RequestTrace displaced) {
        if (displaced == null) {
            live.remove(trace.requestId(), trace);
        } else {
            live.replace(trace.requestId(), trace, displaced);
        }
    }

    void ended(RequestTrace trace) {
        if (live.remove(trace.requestId()) != null) {
            synchronized (ended) {
                ended.put(trace.requestId(), trace);
            }
        }
    }

    RequestTrace live(String requestId) {
        return live.get(requestId);
    }

    /** The trace of {@code requestId}, live or recently ended, removed from the ended ones; null if unknown. */
    RequestTrace take(String requestId) {
        RequestTrace t = live.get(requestId);
        if (t != null) {
            return t;
        }
        synchronized (ended) {
            return ended.remove(requestId);
        }
    }

    int liveCount() {
        return live.size();
    }

    int endedCount() {
        synchronized (ended) {
            return ended.size();
        }
    }
}
