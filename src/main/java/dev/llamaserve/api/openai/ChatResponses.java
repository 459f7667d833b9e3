package dev.llamaserve.api.openai;

import dev.llamaserve.engine.EngineEvent;
import java.util.List;
import java.util.UUID;

/** Builds one request's responses and chunks, all with the same id, created time and model. */
final class ChatResponses {

    private final String id;
    private final long created;
    private final String model;

    ChatResponses(String id, long created, String model) {
        this.id = id;
        this.created = created;
        this.model = model;
    }

    static String newCompletionId() {
        return "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
    }

    static String newToolCallId() {
        return "call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
    }

    String id() {
        return id;
    }

    String model() {
        return model;
    }

    ChatWire.Chunk chunk(ChatWire.Delta delta, ChatWire.Logprobs logprobs, String finishReason) {
        return chunk(0, delta, logprobs, finishReason);
    }

    /** A chunk of choice {@code index}. */
    ChatWire.Chunk chunk(int index, ChatWire.Delta delta, ChatWire.Logprobs logprobs, String finishReason) {
        return chunk(index, delta, logprobs, finishReason, null);
    }

    /** A chunk of choice {@code index}: its last, with its stop reason (vLLM's {@code stop_reason}) where it has one. */
    ChatWire.Chunk chunk(int index, ChatWire.Delta delta, ChatWire.Logprobs logprobs, String finishReason,
            Object stopReason) {
        return new ChatWire.Chunk(id, created, model, List.of(new ChatWire.ChunkChoice(index, delta, logprobs,
                finishReason, stopReason)), null);
    }

    ChatWire.Chunk usageChunk(EngineEvent.Usage usage) {
        return new ChatWire.Chunk(id, created, model, List.of(), ChatWire.Usage.of(usage));
    }

    /** A completion of several choices ({@code n}); {@code usage} is the request's (see {@link EngineEvent.Usage#ofChoices}). */
    ChatWire.ChatCompletion completion(List<ChatWire.Choice> choices, EngineEvent.Usage usage) {
        return new ChatWire.ChatCompletion(id, created, model, choices, ChatWire.Usage.of(usage));
    }
}
