package dev.llamaserve.config;

/** The model could not be loaded at startup; the message says what is wrong and what to change. */
public class ModelStartupException extends RuntimeException {
    public ModelStartupException(String message, Throwable cause) {
        super(message, cause);
    }
}
