package dev.llamaserve.api.openai;

import dev.llamaserve.chat.AnswerFinish;
import dev.llamaserve.chat.ToolCallParser;
import dev.llamaserve.chat.ToolCallStartTokens;
import dev.llamaserve.engine.EngineEvent;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns one request's engine events into SSE frames, exactly as OpenAI streams them: a first chunk
 * with {@code role: assistant}, content deltas as produced, a chunk with the finish reason, an optional
 * usage chunk with empty {@code choices}, then {@code data: [DONE]}. With tools, text is held back only
 * until it is clear whether the output is a tool call ({@link ToolCallParser#start}: a JSON object whose first
 * key a call has, or {@code <|python_tag|>}; any other JSON, such as a response_format answer, streams from its
 * first key);
 * tool calls go out one per chunk. An error is a {@code data: {"error":…}} frame and then [DONE].
 * Not thread-safe: feed it from one stream.
 */
final class ChatStreamAssembler {

    static final String DONE = "data: [DONE]\n\n";

    private enum Mode { UNDECIDED, CONTENT, TOOL }

    private final ChatResponses responses;
    private final boolean toolsEnabled;
    private final ToolCallParser.Calls calls;
    private final ToolCallStartTokens startTokens;
    private final LogprobsRenderer logprobs;
    private final boolean includeUsage;
    private final String requestId;
    private final int index;
    /** True: this assembler ends the stream (usage chunk, [DONE]); false: a {@link ChatChoicesStream} does. */
    private final boolean endsStream;

    private Mode mode;
    /** Where in {@link #held} the {@code <|python_tag|>} token came, or {@link ToolCallParser#NO_TAG}. */
    private int tagOffset = ToolCallParser.NO_TAG;
    /**
     * Whether a held answer without the tag may still turn out to name none of the tools (only where the request
     * names them): {@link ToolCallParser.Calls#leading} is asked token by token until it decides, then never again.
     */
    private boolean nameOpen;
    private final StringBuilder held = new StringBuilder();
    private final List<ChatWire.TokenLogprob> heldLogprobs = new ArrayList<>();
    private boolean done;
    private String finishReason;
    private EngineEvent.Usage usage;

    /**
     * @param logprobs null when the request did not ask for logprobs
     * @param calls the calls the request may get (its tools' names; one only without parallel_tool_calls)
     * @param requestId the client's request id, quoted in an error frame
     */
    ChatStreamAssembler(ChatResponses responses, boolean toolsEnabled, ToolCallParser.Calls calls,
            ToolCallStartTokens startTokens, LogprobsRenderer logprobs, boolean includeUsage, String requestId) {
        this(responses, toolsEnabled, calls, startTokens, logprobs, includeUsage, requestId, 0, true);
    }

    /**
     * One choice's assembler.
     *
     * @param index the choice's index in every chunk
     * @param endsStream whether its end is the stream's (usage chunk and [DONE]); false for one of n choices
     */
    ChatStreamAssembler(ChatResponses responses, boolean toolsEnabled, ToolCallParser.Calls calls,
            ToolCallStartTokens startTokens, LogprobsRenderer logprobs, boolean includeUsage, String requestId,
            int index, boolean endsStream) {
        this.index = index;
        this.endsStream = endsStream;
        this.requestId = requestId;
        this.responses = responses;
        this.toolsEnabled = toolsEnabled;
        this.calls = calls;
        this.startTokens = startTokens;
        this.logprobs = logprobs;
        this.includeUsage = includeUsage;
        this.mode = toolsEnabled ? Mode.UNDECIDED : Mode.CONTENT;
    }

    /** The first frame: the assistant role with empty content. */
    String start() {
        return frame(responses.chunk(index, new ChatWire.Delta("assistant", "", null), null, null));
    }

    List<String> onEvent(EngineEvent event) {
        if (done) {
            return List.of();
        }
        if (event instanceof EngineEvent.Tokens t) {
            return onTokens(t);
        }
        return onFinished((EngineEvent.Finished) event);
    }

    List<String> onTokens(EngineEvent.Tokens t) {
        List<ChatWire.TokenLogprob> lps = logprobs == null ? List.of() : logprobs.render(t.logprobs());
        boolean tag = toolsEnabled && mode != Mode.TOOL && startTokens.indexIn(t.tokenIds()) >= 0;
        if (tag) {
            List<String> out = List.of();
            if (mode == Mode.UNDECIDED && !held.toString().isBlank()) {
                out = List.of(flushHeld());   // text before the tag is content
            }
            // blank text before the tag stays held: it is the answer's if what follows is no call
            tagOffset = held.length();
            mode = Mode.TOOL;
            hold(t.text(), lps);
            return out;
        }
        switch (mode) {
            case CONTENT:
                return t.text().isEmpty() && lps.isEmpty() ? List.of() : List.of(content(t.text(), lps));
            case TOOL:
                hold(t.text(), lps);
                if (nameOpen) {
                    ToolCallParser.Start leading = calls.leading(held);
                    nameOpen = leading == ToolCallParser.Start.UNDECIDED;
                    if (leading == ToolCallParser.Start.CONTENT) {
                        // a JSON answer whose "name" is none of the tools' (a response_format next to tools): it
                        // streams from here, not all at its end
                        mode = Mode.CONTENT;
                        return List.of(flushHeld());
                    }
                }
                return List.of();
            default:
                hold(t.text(), lps);
                switch (ToolCallParser.start(held.toString())) {
                    case UNDECIDED:
                        return List.of();
                    case CALL:
                        mode = Mode.TOOL;
                        nameOpen = true;
                        return List.of();
                    default:
                        mode = Mode.CONTENT;
                        return List.of(flushHeld());
                }
        }
    }

    List<String> onFinished(EngineEvent.Finished f) {
        done = true;
        List<String> out = new ArrayList<>();
        String reason;
        try {
            reason = FinishReasons.openAi(f, requestId);
        } catch (ApiException e) {
            return error(e);
        }
        String tail = f.text() == null ? "" : f.text();
        if (mode == Mode.CONTENT) {
            if (!tail.isEmpty()) {
                out.add(content(tail, List.of()));
            }
        } else {
            held.append(tail);
            ToolCallParser.Result parsed = ToolCallParser.parse(held.toString(), tagOffset,
                    AnswerFinish.cutOff(f.reason()), calls);
            if (parsed.readAsCalls()) {
                if (parsed.content() != null) {
                    out.add(content(parsed.content(), List.of()));
                }
                List<ChatWire.TokenLogprob> lps = List.copyOf(heldLogprobs);
                for (int i = 0; i < parsed.calls().size(); i++) {
                    ToolCallParser.ParsedCall call = parsed.calls().get(i);
                    ChatWire.ToolCallDelta delta = new ChatWire.ToolCallDelta(i, ChatResponses.newToolCallId(),
                            "function", new ChatWire.FunctionCall(call.name(), call.arguments()));
                    out.add(frame(responses.chunk(index, new ChatWire.Delta(null, null, List.of(delta)),
                            i == 0 && !lps.isEmpty() ? new ChatWire.Logprobs(lps) : null, null)));
                }
                if (parsed.calls().isEmpty() && !lps.isEmpty()) {   // the only call was cut before its name
                    out.add(frame(responses.chunk(index, ChatWire.Delta.EMPTY, new ChatWire.Logprobs(lps), null)));
                }
                reason = FinishReasons.openAi(AnswerFinish.of(f.reason(), true));
            } else if (held.length() > 0 || !heldLogprobs.isEmpty()) {
                out.add(flushHeld());
            }
        }
        finishReason = reason;
        usage = f.usage();
        out.add(frame(responses.chunk(index, ChatWire.Delta.EMPTY, null, reason, f.stopReason())));
        if (!endsStream) {
            return out;
        }
        if (includeUsage && f.usage() != null) {
            out.add(frame(responses.usageChunk(f.usage())));
        }
        out.add(DONE);
        return out;
    }

    /** An error after the stream started: an error frame, then [DONE]. */
    List<String> error(ApiException error) {
        done = true;
        finishReason = "error";
        return List.of(errorFrame(error), DONE);
    }

    /**
     * The frame of an error after a stream started (chat and completions): OpenAI's error body as an {@code error}
     * event. Clients that tell errors by the event name (LangChain4j) saw a plain data frame as an empty chunk and
     * completed a cut-off answer as if it were whole; the OpenAI SDKs read the body's {@code error} either way.
     */
    static String errorFrame(ApiException error) {
        return "event: error\n" + frame(error.body());
    }

    boolean done() {
        return done;
    }

    /** The finish reason sent ("error" after an error), or null while running. */
    String finishReason() {
        return finishReason;
    }

    EngineEvent.Usage usage() {
        return usage;
    }

    private void hold(String text, List<ChatWire.TokenLogprob> lps) {
        held.append(text);
        heldLogprobs.addAll(lps);
    }

    private String flushHeld() {
        String s = content(held.toString(), List.copyOf(heldLogprobs));
        held.setLength(0);
        heldLogprobs.clear();
        return s;
    }

    private String content(String text, List<ChatWire.TokenLogprob> lps) {
        return frame(responses.chunk(index, new ChatWire.Delta(null, text, null),
                logprobs == null ? null : new ChatWire.Logprobs(List.copyOf(lps)), null));
    }

    static String frame(Object chunk) {
        return "data: " + OpenAiJson.MAPPER.writeValueAsString(chunk) + "\n\n";
    }
}
