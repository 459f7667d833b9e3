package dev.llamaserve.engine;

import java.util.concurrent.Executor;
import java.util.concurrent.Flow;

/**
 * The one surface the rest of the service sees of the engine.
 *
 * <p>{@link #submit} enqueues at once (it never blocks on the engine thread) and returns the request's
 * event stream. The publisher accepts a single subscriber; events produced before it subscribes are
 * buffered. Cancelling the subscription aborts the request. The last event is always a
 * {@link EngineEvent.Finished}.
 */
public interface InferenceEngine extends AutoCloseable {

    /**
     * @throws EngineException.Overloaded when the waiting queue is full
     * @throws EngineException.Unavailable when the engine is loading, draining or failed
     * @throws InvalidRequestException when {@link GenerationRequest#validate} refuses it against
     *     {@link #modelInfo()} (ranges, context length), or the engine cannot hold it (KV capacity, duplicate id)
     */
    Flow.Publisher<EngineEvent> submit(GenerationRequest request);

    /**
     * {@link #submit(GenerationRequest)} with the events delivered on {@code delivery} instead of the engine's
     * own delivery threads: for a consumer that never blocks and has a thread of its own (an HTTP connection's
     * event loop), so that events reach it in one hand-off from the engine thread. An engine may ignore it.
     */
    default Flow.Publisher<EngineEvent> submit(GenerationRequest request, Executor delivery) {
        return submit(request);
    }

    /**
     * Throws what {@link #submit} would throw now for the engine's state and load ({@link EngineException.Overloaded}
     * when the waiting queue is full, {@link EngineException.Unavailable} when not ready): a caller refuses the
     * request with it before it charges the caller anything (a token quota). {@link #submit} checks again, since
     * other requests may fill the queue in between.
     */
    default void checkAccepting() {}

    /** Aborts a waiting or running request; its stream ends with finish reason {@code abort}. */
    boolean abort(String requestId);

    /** A consistent snapshot of the engine's state and load. */
    EngineStats stats();

    /** Defaults (from {@code generation_config.json}) and limits of the loaded model. */
    ModelInfo modelInfo();

    /** Text decoding of token ids for this model. */
    Detokenizer detokenizer();

    /** Stops accepting requests, lets running ones finish, then releases the model. */
    @Override
    void close();
}
