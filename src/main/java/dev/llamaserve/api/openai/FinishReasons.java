package dev.llamaserve.api.openai;

import dev.llamaserve.chat.AnswerFinish;
import dev.llamaserve.engine.EngineEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one map from the engine's finish reason to OpenAI's {@code finish_reason}, for both completion
 * endpoints, streamed or not. An engine error or abort is not a finish reason but an error: an
 * {@link ApiException} from {@link ApiErrors} (the engine's detail goes to the log, never to the client).
 * The chat endpoint answers {@link #TOOL_CALLS} instead when the output parsed as tool calls, by {@link AnswerFinish}'s
 * rule (the Spring AI adapter's too).
 */
final class FinishReasons {

    private static final Logger log = LoggerFactory.getLogger(FinishReasons.class);

    static final String STOP = "stop";
    static final String LENGTH = "length";
    static final String TOOL_CALLS = "tool_calls";

    private FinishReasons() {}

    /** OpenAI's name of a chat answer's finish ({@link AnswerFinish#of}). */
    static String openAi(AnswerFinish finish) {
        return switch (finish) {
            case STOP -> STOP;
            case LENGTH -> LENGTH;
            case TOOL_CALLS -> TOOL_CALLS;
        };
    }

    /**
     * @param requestId the client's request id, for the log line and the generic error message
     * @throws ApiException for {@code ERROR} and {@code ABORT} ({@link #error})
     */
    static String openAi(EngineEvent.Finished f, String requestId) {
        ApiException error = error(f, requestId);
        if (error != null) {
            throw error;
        }
        return openAi(AnswerFinish.of(f.reason(), false));
    }

    /**
     * The error an engine {@code ERROR} (500; with {@code x-should-retry: false} when the request caused it; the
     * engine's detail is logged) or {@code ABORT} (503 {@code aborted}) is; null for a finish reason.
     */
    static ApiException error(EngineEvent.Finished f, String requestId) {
        return switch (f.reason()) {
            case STOP, LENGTH -> null;
            case ABORT -> ApiException.unavailable("aborted", "The request was aborted by the server.");
            case ERROR -> {
                log.warn("request_id={} the engine failed the request: {}", requestId, f.errorMessage());
                yield f.requestError() ? ApiErrors.requestFailed(requestId) : ApiErrors.modelFailed(requestId);
            }
        };
    }
}
