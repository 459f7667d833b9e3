package dev.llamaserve.api.openai;

import dev.llamaserve.chat.AnswerFinish;
import dev.llamaserve.chat.ToolCallParser;
import dev.llamaserve.chat.ToolCallStartTokens;
import dev.llamaserve.engine.EngineEvent;
import java.util.ArrayList;
import java.util.List;

/**
 * Collects one request's engine events into a non-streaming chat completion; recognizes tool calls
 * when tools are enabled. Not thread-safe: feed it from one stream.
 */
final class ChatCompletionCollector {

    private final ChatResponses responses;
    private final boolean toolsEnabled;
    private final ToolCallParser.Calls calls;
    private final ToolCallStartTokens startTokens;
    private final LogprobsRenderer logprobs;
    private final String requestId;

    private final StringBuilder text = new StringBuilder();
    private final List<ChatWire.TokenLogprob> tokenLogprobs = new ArrayList<>();
    private int tagOffset = ToolCallParser.NO_TAG;

    /** @param calls the calls the request may get (its tools' names; one only without parallel_tool_calls) */
    ChatCompletionCollector(ChatResponses responses, boolean toolsEnabled, ToolCallParser.Calls calls,
            ToolCallStartTokens startTokens, LogprobsRenderer logprobs, String requestId) {
        this.requestId = requestId;
        this.responses = responses;
        this.toolsEnabled = toolsEnabled;
        this.calls = calls;
        this.startTokens = startTokens;
        this.logprobs = logprobs;
    }

    void onTokens(EngineEvent.Tokens t) {
        if (toolsEnabled && tagOffset == ToolCallParser.NO_TAG && startTokens.indexIn(t.tokenIds()) >= 0) {
            tagOffset = text.length();
        }
        text.append(t.text());
        if (logprobs != null) {
            tokenLogprobs.addAll(logprobs.render(t.logprobs()));
        }
    }

    /** The response of a request with one choice, or an {@link ApiException} for an engine error or abort. */
    ChatWire.ChatCompletion finish(EngineEvent.Finished f) {
        return responses.completion(List.of(choice(f)), f.usage());
    }

    /** The choice {@code f} ends, or an {@link ApiException} for an engine error or abort. */
    ChatWire.Choice choice(EngineEvent.Finished f) {
        String reason = FinishReasons.openAi(f, requestId);
        if (f.text() != null) {
            text.append(f.text());
        }
        ChatWire.Message message = new ChatWire.Message("assistant", text.toString(), null);
        if (toolsEnabled) {
            ToolCallParser.Result parsed = ToolCallParser.parse(text.toString(), tagOffset,
                    AnswerFinish.cutOff(f.reason()), calls);
            if (parsed.readAsCalls()) {
                List<ChatWire.ToolCall> calls = new ArrayList<>();
                for (ToolCallParser.ParsedCall c : parsed.calls()) {
                    calls.add(new ChatWire.ToolCall(ChatResponses.newToolCallId(),
                            new ChatWire.FunctionCall(c.name(), c.arguments())));
                }
                message = new ChatWire.Message("assistant", parsed.content(), calls);
                reason = FinishReasons.openAi(AnswerFinish.of(f.reason(), true));
            }
        }
        ChatWire.Logprobs lp = logprobs == null ? null : new ChatWire.Logprobs(List.copyOf(tokenLogprobs));
        return new ChatWire.Choice(f.index(), message, lp, reason, f.stopReason());
    }
}
