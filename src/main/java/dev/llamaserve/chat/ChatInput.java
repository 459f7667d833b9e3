package dev.llamaserve.chat;

import tools.jackson.databind.JsonNode;

/**
 * The chat-relevant fields of an OpenAI chat request (or a {@code /tokenize} request with messages),
 * as raw JSON: the API layer passes the nodes through untouched.
 *
 * @param messages {@code messages}
 * @param tools {@code tools}, or null
 * @param addGenerationPrompt {@code add_generation_prompt} (default true)
 * @param chatTemplateKwargs {@code chat_template_kwargs}, or null
 * @param continueFinalMessage vLLM's {@code continue_final_message} (default false): the prompt ends inside the last
 *     message, an assistant's, which the model goes on writing (needs {@code add_generation_prompt} false)
 */
public record ChatInput(JsonNode messages, JsonNode tools, boolean addGenerationPrompt, JsonNode chatTemplateKwargs,
        boolean continueFinalMessage) {

    public ChatInput(JsonNode messages, JsonNode tools, boolean addGenerationPrompt, JsonNode chatTemplateKwargs) {
        this(messages, tools, addGenerationPrompt, chatTemplateKwargs, false);
    }

    public static ChatInput of(JsonNode messages) {
        return new ChatInput(messages, null, true, null);
    }

    @Override
    public String toString() {
        return "ChatInput[messages=" + (messages == null ? 0 : messages.size()) + "]";
    }
}
