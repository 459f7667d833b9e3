package dev.llamaserve.config;

import dev.llamaserve.api.openai.ChatPromptEncoder;
import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.chat.ChatInput;
import dev.llamaserve.chat.ChatValidationException;
import dev.llamaserve.engine.EngineException;

/** The API's prompt seam, implemented by the chat package: validate, render the Llama 3.1 template, encode. */
final class ChatFormatPromptEncoder implements ChatPromptEncoder {

    private final ChatFormat chatFormat;

    ChatFormatPromptEncoder(ChatFormat chatFormat) {
        this.chatFormat = chatFormat;
    }

    @Override
    public EncodedPrompt encode(ChatPrompt prompt) {
        try {
            var prepared = chatFormat.prepare(new ChatInput(prompt.messages(), prompt.tools(), true,
                    prompt.chatTemplateKwargs()));
            return new EncodedPrompt(prepared.tokenIds());
        } catch (ChatValidationException e) {
            throw new EngineException.InvalidRequest(e.param(), e.code(), e.getMessage());
        }
    }
}
