package dev.llamaserve.engine;

public enum EngineState {
    LOADING, READY, DRAINING, FAILED
}
