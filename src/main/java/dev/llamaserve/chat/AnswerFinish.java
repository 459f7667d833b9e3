package dev.llamaserve.chat;

import dev.llamaserve.engine.EngineEvent;

/**
 * How a chat answer ended, from the engine's finish reason and whether the answer parsed as tool calls: the one rule
 * of the HTTP API (OpenAI's {@code finish_reason}, this name in lower case) and the Spring AI adapter (its finish
 * reason, this name as Spring AI's OpenAI model reports it). An answer cut by its token limit ({@link #cutOff}) keeps
 * its last call as a partial call where its name was written whole ({@link ToolCallParser#parse(String, int,
 * boolean)}), and ends {@link #LENGTH}, as OpenAI answers a call cut by {@code max_tokens}: the model's call syntax is
 * never handed over as the answer's text. An engine error or abort is no finish but an error, each caller's own.
 */
public enum AnswerFinish {
    STOP, LENGTH, TOOL_CALLS;

    /** Whether an answer that ended for {@code reason} was cut by its token limit: the parser's {@code cutOff}. */
    public static boolean cutOff(EngineEvent.FinishReason reason) {
        return reason == EngineEvent.FinishReason.LENGTH;
    }

    /**
     * @param reason the engine's {@code STOP} or {@code LENGTH}
     * @param calls whether the answer parsed as tool calls
     * @return {@link #TOOL_CALLS} for calls, {@link #LENGTH} where the token limit cut the answer (calls or not),
     *     else {@link #STOP}
     * @throws IllegalArgumentException for {@code ERROR} and {@code ABORT}, which are errors
     */
    public static AnswerFinish of(EngineEvent.FinishReason reason, boolean calls) {
        return switch (reason) {
            case STOP, LENGTH -> cutOff(reason) ? LENGTH : calls ? TOOL_CALLS : STOP;
            case ERROR, ABORT -> throw new IllegalArgumentException("the engine's " + reason
                    + " is an error, not an answer's finish reason");
        };
    }
}
