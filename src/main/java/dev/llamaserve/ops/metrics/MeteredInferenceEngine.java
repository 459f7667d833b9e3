package dev.llamaserve.ops.metrics;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineException;
import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.ModelInfo;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link InferenceEngine} that meters the one it wraps, for every caller (HTTP and Spring AI alike) and
 * without touching the engine thread: each request's events are observed as they are delivered (first token:
 * time to first token; gaps: inter-token latency; {@code Finished}: end-to-end latency, finish reason, token
 * counts), a caller that cancels or aborts before the end counts as a disconnect, a full queue as an overload
 * refusal. The engine's gauges (queue, running, KV usage, preemptions) read {@link #stats()} when scraped.
 * The traces of recent requests stay readable by id for the access log ({@link #trace(String)}).
 */
public final class MeteredInferenceEngine implements InferenceEngine {

    /** Ended traces kept for the access log to read. */
    static final int KEEP_ENDED_TRACES = 4096;

    private static final Logger log = LoggerFactory.getLogger(MeteredInferenceEngine.class);
    private static final AtomicBoolean failureLogged = new AtomicBoolean();

    private final InferenceEngine delegate;
    private final ServingMetrics metrics;
    private final RefusalMetrics refusals;
    private final RequestTraces traces = new RequestTraces(KEEP_ENDED_TRACES);

    public MeteredInferenceEngine(InferenceEngine delegate, ServingMetrics metrics, RefusalMetrics refusals) {
        this.delegate = delegate;
        this.metrics = metrics;
        this.refusals = refusals;
        metrics.bindEngine(delegate::stats);
    }

    @Override
    public Flow.Publisher<EngineEvent> submit(GenerationRequest request) {
        return submit(request, null);
    }

    /** Meters the stream; {@code delivery} (null: the engine's own) is where the engine delivers its events. */
    @Override
    public Flow.Publisher<EngineEvent> submit(GenerationRequest request, Executor delivery) {
        RequestTrace trace = new RequestTrace(request.requestId(), request.promptTokenIds().length, System.nanoTime());
        // live before the engine has the request: a caller that aborts as soon as it is registered finds its trace
        RequestTrace displaced = traces.started(trace);
        Flow.Publisher<EngineEvent> events;
        boolean accepted = false;
        try {
            events = delivery == null ? delegate.submit(request) : delegate.submit(request, delivery);
            accepted = true;
        } catch (EngineException.Overloaded e) {
            refusals.engineQueueFull();
            throw e;
        } finally {
            if (!accepted) {
                traces.withdraw(trace, displaced);   // refused: the request never was, and is not metered
            }
        }
        return subscriber -> {
            if (trace.claimSubscription()) {
                events.subscribe(new MeteringSubscriber(subscriber, trace, this));
            } else {
                events.subscribe(subscriber); // a second subscriber: the engine's stream refuses it as it always does
            }
        };
    }

    /** A full queue found here is a refusal as one found by submit (the request goes no further). */
    @Override
    public void checkAccepting() {
        try {
            delegate.checkAccepting();
        } catch (EngineException.Overloaded e) {
            refusals.engineQueueFull();
            throw e;
        }
    }

    @Override
    public boolean abort(String requestId) {
        boolean aborted = delegate.abort(requestId);
        RequestTrace trace = traces.live(requestId);
        if (aborted && trace != null) {
            try {
                disconnected(trace);
                if (!trace.subscribed()) {
                    // nobody will ever see this stream's final event: end the trace here
                    ended(trace, trace.endAborted());
                }
            } catch (RuntimeException | LinkageError e) {
                meteringFailed(e);
            }
        }
        return aborted;
    }

    /** Logs the first metering failure (with its stack trace), counts none; the request goes on. */
    static void meteringFailed(Throwable e) {
        if (failureLogged.compareAndSet(false, true)) {
            log.warn("metering a request failed; requests are served, metrics may be incomplete", e);
        }
    }

    /** The trace of a recent request (in flight or ended) by its engine request id, or null if unknown. */
    public RequestTrace.Summary trace(String requestId) {
        RequestTrace t = traces.take(requestId);
        return t == null ? null : t.summary();
    }

    /** Requests whose trace has not ended yet. */
    int inFlight() {
        return traces.liveCount();
    }

    /** Ended traces not yet read. */
    int endedTraces() {
        return traces.endedCount();
    }

    void tokens(RequestTrace trace, EngineEvent.Tokens t) {
        long gap = trace.tokens(t, System.nanoTime());
        if (gap == RequestTrace.FIRST) {
            metrics.firstToken(trace.ttftNanos());
        } else if (gap >= 0) {
            metrics.interToken(gap);
        }
    }

    void finished(RequestTrace trace, EngineEvent.Finished f) {
        ended(trace, trace.end(f));
    }

    void cancelled(RequestTrace trace) {
        disconnected(trace);
        ended(trace, trace.endAborted());
    }

    private void disconnected(RequestTrace trace) {
        if (trace.markDisconnected()) {
            metrics.disconnected();
        }
    }

    private void ended(RequestTrace trace, RequestTrace.Summary summary) {
        if (summary != null) {
            metrics.finished(summary, trace.sinceSubmit(System.nanoTime()));
            traces.ended(trace);
        }
    }

    @Override
    public EngineStats stats() {
        return delegate.stats();
    }

    @Override
    public ModelInfo modelInfo() {
        return delegate.modelInfo();
    }

    @Override
    public Detokenizer detokenizer() {
        return delegate.detokenizer();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
