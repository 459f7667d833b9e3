package dev.llamaserve.chat;

/**
 * A validated, rendered and encoded chat prompt: what the API hands to the engine.
 *
 * @param conversation the validated request
 * @param text the rendered prompt text (for {@code /tokenize}; never log it)
 * @param encoded the token ids and where request text landed
 */
public record ChatPrompt(Conversation conversation, String text, EncodedPrompt encoded) {

    /** The prompt ids for {@code GenerationRequest.promptTokenIds}. */
    public int[] tokenIds() {
        return encoded.tokenIds();
    }

    public int tokenCount() {
        return encoded.tokenIds().length;
    }

    @Override
    public String toString() {
        return "ChatPrompt[" + conversation + ", tokens=" + tokenCount() + "]";
    }
}
