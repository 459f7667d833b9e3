package dev.llamaserve.ops.metrics;

import dev.llamaserve.engine.EngineEvent;
import java.util.concurrent.Flow;

/**
 * Passes one request's events on unchanged and reports each to the {@link MeteredInferenceEngine} first; a
 * cancel before the final event is reported as the caller going away.
 */
final class MeteringSubscriber implements Flow.Subscriber<EngineEvent>, Flow.Subscription {

    private final Flow.Subscriber<? super EngineEvent> downstream;
    private final RequestTrace trace;
    private final MeteredInferenceEngine engine;
    private volatile Flow.Subscription upstream;
    private volatile boolean finished;

    MeteringSubscriber(Flow.Subscriber<? super EngineEvent> downstream, RequestTrace trace,
            MeteredInferenceEngine engine) {
        this.downstream = downstream;
        this.trace = trace;
        this.engine = engine;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
        upstream = subscription;
        downstream.onSubscribe(this);
    }

    @Override
    public void onNext(EngineEvent event) {
        try {
            if (event instanceof EngineEvent.Tokens t) {
                engine.tokens(trace, t);
            } else if (event instanceof EngineEvent.Finished f) {
                if (f.last()) {
                    finished = true;
                    engine.finished(trace, f);
                } else {
                    trace.choiceFinished(f); // n > 1: one choice of several ended
                }
            }
        } catch (RuntimeException | LinkageError e) {
            MeteredInferenceEngine.meteringFailed(e); // metering never fails a request
        }
        downstream.onNext(event);
    }

    @Override
    public void onError(Throwable throwable) {
        downstream.onError(throwable);
    }

    @Override
    public void onComplete() {
        downstream.onComplete();
    }

    @Override
    public void request(long n) {
        upstream.request(n);
    }

    @Override
    public void cancel() {
        try {
            if (!finished) {
                engine.cancelled(trace);
            }
        } catch (RuntimeException | LinkageError e) {
            MeteredInferenceEngine.meteringFailed(e);
        }
        upstream.cancel();
    }
}
