package dev.llamaserve.engine.device;

/** The model or the memory settings do not fit the device; the message says what to change. */
public class MemoryPlanException extends RuntimeException {
    public MemoryPlanException(String message) {
        super(message);
    }
}
