package dev.llamaserve.config;

import dev.llamaserve.api.openai.ChatPromptEncoder;
import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.chat.ChatInput;

/**
 * The API's prompt seam, implemented by the chat package: validate, render the Llama 3.1 template, encode.
 * Its {@code ChatValidationException}s reach the API's one error map, which answers them with a 400.
 */
final class ChatFormatPromptEncoder implements ChatPromptEncoder {

    private final ChatFormat chatFormat;

    ChatFormatPromptEncoder(ChatFormat chatFormat) {
        this.chatFormat = chatFormat;
    }

    @Override
    public EncodedPrompt encode(ChatPrompt prompt) {
        return new EncodedPrompt(chatFormat.prepare(new ChatInput(prompt.messages(), prompt.tools(), true,
                prompt.chatTemplateKwargs())).tokenIds());
    }
}
