package dev.llamaserve.ops.lifecycle;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineState;
import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.ModelInfo;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;

/**
 * The {@link InferenceEngine} the rest of the service is given: it exists from startup and delegates to
 * the real engine once the model is loaded. Requests are refused (503 {@code model_loading},
 * {@code draining}, {@code engine_failed}) unless the phase is READY; stats before the load report an
 * empty engine in state LOADING.
 */
public final class LifecycleEngine implements InferenceEngine {

    private static final EngineStats NOT_LOADED = new EngineStats(EngineState.LOADING, 0, 0, 0, 0, 0, 0, 0, 0);

    private final ModelLifecycle lifecycle;

    public LifecycleEngine(ModelLifecycle lifecycle) {
        this.lifecycle = lifecycle;
    }

    @Override
    public Flow.Publisher<EngineEvent> submit(GenerationRequest request) {
        return ready().submit(request);
    }

    @Override
    public Flow.Publisher<EngineEvent> submit(GenerationRequest request, Executor delivery) {
        return ready().submit(request, delivery);
    }

    @Override
    public void checkAccepting() {
        ready().checkAccepting();
    }

    private InferenceEngine ready() {
        ServingPhase p = lifecycle.phase();
        if (p != ServingPhase.READY) {
            throw ModelLifecycle.unavailable(p);
        }
        return loaded();
    }

    @Override
    public boolean abort(String requestId) {
        InferenceEngine e = lifecycle.engine();
        return e != null && e.abort(requestId);
    }

    @Override
    public EngineStats stats() {
        InferenceEngine e = lifecycle.engine();
        return e == null ? NOT_LOADED : e.stats();
    }

    @Override
    public ModelInfo modelInfo() {
        return loaded().modelInfo();
    }

    @Override
    public Detokenizer detokenizer() {
        return loaded().detokenizer();
    }

    /** Drains (see {@link ModelLifecycle#drain}); the engine is closed once. */
    @Override
    public void close() {
        lifecycle.drain();
    }

    private InferenceEngine loaded() {
        InferenceEngine e = lifecycle.engine();
        if (e == null) {
            throw ModelLifecycle.unavailable(lifecycle.phase());
        }
        return e;
    }
}
