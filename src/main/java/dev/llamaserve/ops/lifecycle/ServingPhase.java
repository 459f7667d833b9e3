package dev.llamaserve.ops.lifecycle;

import dev.llamaserve.engine.EngineState;

/**
 * Where the service is in its life: loading the model, running the warm-up generation, serving, draining
 * on shutdown, or failed. Only {@link #READY} serves requests and reports ready.
 */
public enum ServingPhase {
    LOADING, WARMING_UP, READY, DRAINING, FAILED;

    /** The engine state a refusal in this phase reports (warming up counts as loading). */
    public EngineState engineState() {
        return switch (this) {
            case LOADING, WARMING_UP -> EngineState.LOADING;
            case READY -> EngineState.READY;
            case DRAINING -> EngineState.DRAINING;
            case FAILED -> EngineState.FAILED;
        };
    }

    /** What a client is told when it is refused in this phase. */
    String refusal() {
        return switch (this) {
            case LOADING -> "The model is loading; retry later.";
            case WARMING_UP -> "The model is warming up; retry later.";
            case READY -> "The model is not available; retry later.";
            case DRAINING -> "The server is shutting down; retry on another replica.";
            case FAILED -> "The engine failed; this server must be restarted.";
        };
    }
}
