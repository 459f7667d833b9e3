package dev.llamaserve.api.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/** Wire records of {@code /v1/chat/completions} (serialized snake_case by {@link OpenAiJson}). */
public final class ChatWire {

    private ChatWire() {}

    public record ChatCompletion(String id, String object, long created, String model, List<Choice> choices,
            Usage usage) {
        public ChatCompletion(String id, long created, String model, List<Choice> choices, Usage usage) {
            this(id, "chat.completion", created, model, choices, usage);
        }
    }

    /**
     * @param stopReason vLLM's {@code stop_reason}: the stop string matched or the stop token id generated (not the
     *     tokenizer's end-of-sequence token), else null ({@link dev.llamaserve.engine.EngineEvent.Finished})
     */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Choice(int index, Message message, Logprobs logprobs, String finishReason, Object stopReason) {}

    /**
     * content is null when the message is only tool calls. refusal is always null (this server never refuses in
     * words), and always sent: OpenAI's schema marks it required and nullable, and so do clients generated from it.
     */
    public record Message(String role, @JsonInclude(JsonInclude.Include.ALWAYS) String content,
            @JsonInclude(JsonInclude.Include.ALWAYS) String refusal,
            @JsonInclude(JsonInclude.Include.NON_EMPTY) List<ToolCall> toolCalls) {
        public Message(String role, String content, List<ToolCall> toolCalls) {
            this(role, content, null, toolCalls);
        }
    }

    public record ToolCall(String id, String type, FunctionCall function) {
        public ToolCall(String id, FunctionCall function) {
            this(id, "function", function);
        }
    }

    /** @param arguments the JSON text of the call's parameters */
    public record FunctionCall(String name, String arguments) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Chunk(String id, String object, long created, String model, List<ChunkChoice> choices,
            Usage usage) {
        public Chunk(String id, long created, String model, List<ChunkChoice> choices, Usage usage) {
            this(id, "chat.completion.chunk", created, model, choices, usage);
        }
    }

    /** @param stopReason {@link Choice}'s, on the choice's last chunk only, where it has one */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record ChunkChoice(int index, Delta delta, Logprobs logprobs, String finishReason,
            @JsonInclude(JsonInclude.Include.NON_NULL) Object stopReason) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Delta(String role, String content, List<ToolCallDelta> toolCalls) {
        static final Delta EMPTY = new Delta(null, null, null);
    }

    /** A streamed tool call: id, type and function.name only in a call's first delta, index on each. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ToolCallDelta(int index, String id, String type, FunctionCall function) {}

    /** refusal: always null and always sent, as {@link Message}'s (required and nullable in OpenAI's schema). */
    public record Logprobs(List<TokenLogprob> content, @JsonInclude(JsonInclude.Include.ALWAYS) String refusal) {
        public Logprobs(List<TokenLogprob> content) {
            this(content, null);
        }
    }

    public record TokenLogprob(String token, double logprob, List<Integer> bytes, List<TopLogprob> topLogprobs) {}

    public record TopLogprob(String token, double logprob, List<Integer> bytes) {}

    /**
     * OpenAI's usage object, chat and completions alike.
     *
     * @param promptTokensDetails {@code cached_tokens}: prompt tokens served from the prefix cache
     */
    public record Usage(int promptTokens, int completionTokens, int totalTokens, PromptTokensDetails promptTokensDetails) {
        static Usage of(dev.llamaserve.engine.EngineEvent.Usage u) {
            if (u == null) {
                return new Usage(0, 0, 0, new PromptTokensDetails(0));
            }
            return new Usage(u.promptTokens(), u.completionTokens(), u.totalTokens(),
                    new PromptTokensDetails(u.cachedTokens()));
        }
    }

    public record PromptTokensDetails(int cachedTokens) {}
}
