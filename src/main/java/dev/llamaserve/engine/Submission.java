package dev.llamaserve.engine;

import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One request on its way through the engine, for callers that may walk away: the HTTP endpoints (the client
 * disconnects) and the Spring AI adapter (the stream is cancelled). It remembers whether the request's
 * {@link EngineEvent.Finished} event was seen, and {@link #abandon()} aborts the request unless it was.
 * Cancelling the event stream alone is not enough: a caller that goes away between the submit and the
 * subscription leaves a stream nobody subscribed, and the request would run to its max_tokens. Nor is aborting at
 * the moment it goes away: the submit may be running on another thread (HTTP requests are prepared off the event
 * loop), so a submit that follows an abandon aborts its request itself.
 */
public final class Submission {

    private final InferenceEngine engine;
    private final GenerationRequest request;
    private final AtomicBoolean finished = new AtomicBoolean();
    private final AtomicBoolean abandoned = new AtomicBoolean();

    public Submission(InferenceEngine engine, GenerationRequest request) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.request = Objects.requireNonNull(request, "request");
    }

    public GenerationRequest request() {
        return request;
    }

    /**
     * Submits the request (the engine's refusals are thrown here, before any event) and returns its events;
     * the stream marks the request finished when its last event passes.
     */
    public Flow.Publisher<EngineEvent> submit() {
        return submit(null);
    }

    /**
     * {@link #submit()} with the events delivered on {@code delivery} (see
     * {@link InferenceEngine#submit(GenerationRequest, Executor)}); null: the engine's own delivery threads.
     */
    public Flow.Publisher<EngineEvent> submit(Executor delivery) {
        Flow.Publisher<EngineEvent> events = delivery == null ? engine.submit(request) : engine.submit(request, delivery);
        if (abandoned.get()) {   // given up while it was being submitted (its abort found nothing yet): abort it now
            engine.abort(request.requestId());
        }
        return subscriber -> events.subscribe(new Flow.Subscriber<EngineEvent>() {
            @Override
            public void onSubscribe(Flow.Subscription subscription) {
                subscriber.onSubscribe(subscription);
            }

            @Override
            public void onNext(EngineEvent event) {
                if (event instanceof EngineEvent.Finished f && f.last()) {
                    finished.set(true);
                }
                subscriber.onNext(event);
            }

            @Override
            public void onError(Throwable t) {
                subscriber.onError(t);
            }

            @Override
            public void onComplete() {
                subscriber.onComplete();
            }
        });
    }

    /** Whether the request's {@code Finished} event was delivered. */
    public boolean finished() {
        return finished.get();
    }

    /**
     * The caller is gone: aborts the request unless it already finished. Harmless twice, after the end, or
     * before the submit.
     *
     * @return whether an abort was sent
     */
    public boolean abandon() {
        abandoned.set(true);   // before the abort: a submit running now on another thread sees it after registering
        return !finished.get() && engine.abort(request.requestId());
    }
}
