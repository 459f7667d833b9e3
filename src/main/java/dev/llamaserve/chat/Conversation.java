package dev.llamaserve.chat;

import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * A validated chat request body: messages in one of the template's shapes, and the tool
 * definitions (each exactly as the client sent it, rendered through {@code tojson}).
 *
 * @param messages at least one message, at most {@code llm.chat.max-messages}
 * @param tools the tool definitions; empty when the request has none
 */
public record Conversation(List<ChatMessage> messages, List<JsonNode> tools) {
    public Conversation {
        messages = List.copyOf(messages);
        tools = List.copyOf(tools);
    }

    public boolean hasTools() {
        return !tools.isEmpty();
    }

    @Override
    public String toString() {
        return "Conversation[messages=" + messages.size() + ", tools=" + tools.size() + "]";
    }
}
