package dev.llamaserve.engine.model;

import dev.llamaserve.engine.checkpoint.CheckpointException;

/** A well-formed checkpoint of a model or option this service does not implement. */
public class UnsupportedModelException extends CheckpointException {
    public UnsupportedModelException(String message) {
        super(message);
    }
}
