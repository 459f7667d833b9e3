package dev.llamaserve.config;

import dev.llamaserve.api.openai.ChatPromptEncoder;
import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.chat.ChatInput;
import java.util.function.Supplier;

/**
 * The API's prompt seam, implemented by the chat package: validate, render the Llama 3.1 template, encode.
 * Its {@code ChatValidationException}s reach the API's one error map, which answers them with a 400. The
 * chat format is looked up per call: it exists once the model is loaded, and the chat route is refused
 * until then.
 */
final class ChatFormatPromptEncoder implements ChatPromptEncoder {

    private final Supplier<ChatFormat> chatFormat;

    ChatFormatPromptEncoder(Supplier<ChatFormat> chatFormat) {
        this.chatFormat = chatFormat;
    }

    @Override
    public EncodedPrompt encode(ChatPrompt prompt) {
        return new EncodedPrompt(chatFormat.get().prepare(new ChatInput(prompt.messages(), prompt.tools(), true,
                prompt.chatTemplateKwargs())).tokenIds());
    }
}
