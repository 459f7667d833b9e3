package dev.llamaserve.api.openai;

import dev.llamaserve.engine.EngineException;
import java.nio.charset.StandardCharsets;
import tools.jackson.databind.JsonNode;

/**
 * TEST DOUBLE of the prompt layer only (the chat package implements {@link ChatPromptEncoder} for
 * real): {@code <|begin_of_text|>} then one token per UTF-8 byte of the messages' JSON. A message
 * whose role is not a string is an InvalidRequest naming {@code messages}, as the real layer does.
 */
public class FakePromptEncoder implements ChatPromptEncoder {

    public volatile ChatPrompt last;

    @Override
    public EncodedPrompt encode(ChatPrompt prompt) {
        last = prompt;
        int i = 0;
        for (JsonNode m : prompt.messages()) {
            if (!m.isObject() || m.get("role") == null || !m.get("role").isString()) {
                throw new EngineException.InvalidRequest("messages[" + i + "].role", "invalid_value",
                        "messages[" + i + "].role must be a string");
            }
            i++;
        }
        byte[] bytes = prompt.messages().toString().getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length + 1];
        ids[0] = ScriptedEngine.BEGIN_OF_TEXT;
        for (int k = 0; k < bytes.length; k++) {
            ids[k + 1] = bytes[k] & 0xff;
        }
        return new EncodedPrompt(ids);
    }
}
