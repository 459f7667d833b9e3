package dev.llamaserve.engine;

/** Errors the engine reports to callers; the API maps each subclass to one HTTP status. */
public abstract sealed class EngineException extends RuntimeException
        permits EngineException.Overloaded, EngineException.Unavailable, EngineException.Failure,
                InvalidRequestException {

    protected EngineException(String message) {
        super(message);
    }

    protected EngineException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The waiting queue is full: retry later (HTTP 503). */
    public static final class Overloaded extends EngineException {
        public Overloaded(String message) {
            super(message);
        }
    }

    /** The engine is loading, draining or failed (HTTP 503). */
    public static final class Unavailable extends EngineException {
        private final EngineState state;

        public Unavailable(EngineState state, String message) {
            super(message);
            this.state = state;
        }

        public EngineState state() {
            return state;
        }
    }

    /** The model failed while running (HTTP 500). */
    public static final class Failure extends EngineException {
        public Failure(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
