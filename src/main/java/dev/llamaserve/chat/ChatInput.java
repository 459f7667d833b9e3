package dev.llamaserve.chat;

import tools.jackson.databind.JsonNode;

/**
 * The chat-relevant fields of an OpenAI chat request (or a {@code /tokenize} request with messages),
 * as raw JSON: the API layer passes the nodes through untouched.
 *
 * @param messages {@code messages}
 * @param tools {@code tools}, or null
 * @param addGenerationPrompt {@code add_generation_prompt} (true for chat completions)
 * @param chatTemplateKwargs {@code chat_template_kwargs}, or null
 */
public record ChatInput(JsonNode messages, JsonNode tools, boolean addGenerationPrompt, JsonNode chatTemplateKwargs) {

    public static ChatInput of(JsonNode messages) {
        return new ChatInput(messages, null, true, null);
    }

    @Override
    public String toString() {
        return "ChatInput[messages=" + (messages == null ? 0 : messages.size()) + "]";
    }
}
