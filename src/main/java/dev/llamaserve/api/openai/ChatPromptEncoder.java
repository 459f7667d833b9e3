package dev.llamaserve.api.openai;

import tools.jackson.databind.JsonNode;

/**
 * The seam to the prompt layer (package chat): renders the Llama 3.1 chat template and tokenizes it.
 * Implementations validate {@code messages} and {@code tools} and report problems as
 * {@link dev.llamaserve.chat.ChatValidationException} or
 * {@link dev.llamaserve.engine.EngineException.InvalidRequest} (param, code, message), which the API's
 * error map answers with a 400. Must not log prompt text. May be called on any thread; may block briefly
 * (it is called off the event loop).
 */
public interface ChatPromptEncoder {

    EncodedPrompt encode(ChatPrompt prompt);

    /**
     * The prompt parts of a chat completion request.
     *
     * @param messages the raw {@code messages} array (non-empty)
     * @param tools the raw {@code tools} array, or null (no tools, or {@code tool_choice: "none"})
     * @param chatTemplateKwargs the raw {@code chat_template_kwargs} object, or null
     */
    record ChatPrompt(JsonNode messages, JsonNode tools, JsonNode chatTemplateKwargs) {}

    /**
     * @param tokenIds the whole prompt, {@code <|begin_of_text|>} included, ending with the assistant
     *     header (non-empty)
     */
    record EncodedPrompt(int[] tokenIds) {
        public EncodedPrompt {
            if (tokenIds == null || tokenIds.length == 0) {
                throw new IllegalArgumentException("an encoded prompt has at least one token");
            }
        }
    }
}
