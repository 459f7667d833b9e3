package dev.llamaserve.springai;

import dev.llamaserve.chat.AnswerFinish;
import dev.llamaserve.chat.ToolCallParser;
import dev.llamaserve.chat.ToolCallStartTokens;
import dev.llamaserve.engine.EngineEvent;
import java.util.List;
import java.util.UUID;
import org.springframework.ai.chat.messages.AssistantMessage;

/**
 * One request's answer from its engine events: content as it can be released, and at the end the tool calls,
 * parsed by the chat layer's {@link ToolCallParser} (the HTTP API's parser). With tools shown to the model, text is
 * held back only until it is clear whether the output is a tool call (it starts with '{' and a call's first key, or
 * the {@code <|python_tag|>} token; a JSON answer whose leading "name" is none of the tools' is released from there);
 * without tools all text is content at once. The rules are the HTTP API's ({@code ChatStreamAssembler}): the same
 * {@link ToolCallParser} helpers, and the finish by {@link AnswerFinish}. Not thread-safe: feed it from one stream.
 */
final class AnswerAssembler {

    private enum Mode { UNDECIDED, CONTENT, TOOL }

    /**
     * What is left at the end: content not yet released (null if none), the calls (empty if none; the last one
     * partial where the token limit cut it, as {@link ToolCallParser#parse(String, int, boolean)} reads it) and the
     * answer's finish reason.
     */
    record End(String content, List<AssistantMessage.ToolCall> calls, AnswerFinish finish) {}

    private final ToolCallStartTokens startTokens;
    private final ToolCallParser.Calls calls;
    private final StringBuilder held = new StringBuilder();
    private Mode mode;
    /** Where in {@link #held} the {@code <|python_tag|>} token came, or {@link ToolCallParser#NO_TAG}. */
    private int tagOffset = ToolCallParser.NO_TAG;
    /**
     * Whether a held answer without the tag may still turn out to name none of the tools: {@link
     * ToolCallParser.Calls#leading} is asked token by token until it decides, then never again.
     */
    private boolean nameOpen;

    /**
     * @param startTokens the tool-call start tokens; null when no tools were shown to the model
     * @param calls the calls the model may make: of the tools shown to it; one only where {@code parallelToolCalls(false)}
     */
    AnswerAssembler(ToolCallStartTokens startTokens, ToolCallParser.Calls calls) {
        this.startTokens = startTokens;
        this.calls = calls;
        this.mode = startTokens == null ? Mode.CONTENT : Mode.UNDECIDED;
    }

    /** The content to release now ("" while text is held back). */
    String onTokens(EngineEvent.Tokens t) {
        if (startTokens != null && mode != Mode.TOOL && startTokens.indexIn(t.tokenIds()) >= 0) {
            String release = "";
            if (mode == Mode.UNDECIDED && !held.toString().isBlank()) {
                release = held.toString();   // text before the tag is content
                held.setLength(0);
            }
            // blank text before the tag stays held: it is the answer's if what follows is no call
            tagOffset = held.length();
            held.append(t.text());
            mode = Mode.TOOL;
            return release;
        }
        switch (mode) {
            case CONTENT:
                return t.text();
            case TOOL:
                held.append(t.text());
                if (nameOpen) {
                    ToolCallParser.Start leading = calls.leading(held);
                    nameOpen = leading == ToolCallParser.Start.UNDECIDED;
                    if (leading == ToolCallParser.Start.CONTENT) {
                        // a JSON answer whose "name" is none of the tools' (an entity's next to tools): it streams
                        // from here, not all at its end
                        mode = Mode.CONTENT;
                        String release = held.toString();
                        held.setLength(0);
                        return release;
                    }
                }
                return "";
            default:
                held.append(t.text());
                switch (ToolCallParser.start(held.toString())) {
                    case UNDECIDED:
                        return "";
                    case CALL:
                        mode = Mode.TOOL;
                        nameOpen = true;
                        return "";
                    default:
                        mode = Mode.CONTENT;
                        String release = held.toString();
                        held.setLength(0);
                        return release;
                }
        }
    }

    /** The rest of the answer, given the Finished event ({@code STOP} or {@code LENGTH}). */
    End finish(EngineEvent.Finished f) {
        String rest = f.text() == null ? "" : f.text();
        if (mode == Mode.CONTENT) {
            return new End(rest.isEmpty() ? null : rest, List.of(), AnswerFinish.of(f.reason(), false));
        }
        held.append(rest);
        ToolCallParser.Result parsed = ToolCallParser.parse(held.toString(), tagOffset,
                AnswerFinish.cutOff(f.reason()), calls);
        if (!parsed.readAsCalls()) {
            return new End(held.isEmpty() ? null : held.toString(), List.of(), AnswerFinish.of(f.reason(), false));
        }
        List<AssistantMessage.ToolCall> calls = parsed.calls().stream()
                .map(c -> new AssistantMessage.ToolCall(newToolCallId(), "function", c.name(), c.arguments()))
                .toList();
        return new End(parsed.content(), calls, AnswerFinish.of(f.reason(), true));
    }

    /** An OpenAI-style call id, as the HTTP API makes them. */
    static String newToolCallId() {
        return "call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
    }
}
