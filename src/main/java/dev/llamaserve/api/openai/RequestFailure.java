package dev.llamaserve.api.openai;

import dev.llamaserve.engine.EngineEvent;

/**
 * The first engine error or abort among the choices of one request ({@code n >= 1}), thrown when the request's last
 * {@code Finished} arrives. The engine ends every choice of a failed request, and the stream ends with the last: the
 * stream is read to its end, so that the metering and the access log see the engine's {@code error} or
 * {@code abort}, not a client that went away (as a stream cancelled at an earlier choice's end would read). Once a
 * choice failed, the request's other events are passed over. One per request; its events arrive serially.
 */
final class RequestFailure {

    private final String requestId;
    private ApiException error;

    /** @param requestId the client's request id, for the log line and the error message */
    RequestFailure(String requestId) {
        this.requestId = requestId;
    }

    /**
     * Whether {@code event} is passed over: it is the {@code Finished} of a choice that failed, or comes after one.
     *
     * @throws ApiException the request's first error ({@link FinishReasons#error}), at its last {@code Finished}
     */
    boolean passOver(EngineEvent event) {
        if (event instanceof EngineEvent.Finished f) {
            if (error == null) {
                error = FinishReasons.error(f, requestId);
            }
            if (error != null && f.last()) {
                throw error;
            }
        }
        return error != null;
    }
}
