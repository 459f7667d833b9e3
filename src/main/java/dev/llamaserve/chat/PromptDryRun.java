package dev.llamaserve.chat;

import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InvalidRequestException;
import dev.llamaserve.engine.UnicodeText;
import java.util.ArrayList;
import java.util.List;

/**
 * The logic behind {@code POST /tokenize} and {@code POST /detokenize} (vLLM's dry-run endpoints):
 * what a prompt or a conversation becomes, without running the model.
 */
public final class PromptDryRun {

    private final LlamaTokenizer tokenizer;
    private final ChatFormat chat;

    public PromptDryRun(LlamaTokenizer tokenizer, ChatFormat chat) {
        this.tokenizer = tokenizer;
        this.chat = chat;
    }

    /**
     * {@code /tokenize} response.
     *
     * @param prompt the rendered prompt text for a messages request; null for a prompt request
     */
    public record TokenizeResult(int count, int maxModelLen, int[] tokens, String prompt) {
        @Override
        public String toString() {
            return "TokenizeResult[count=" + count + ", maxModelLen=" + maxModelLen + "]";
        }
    }

    /**
     * A completion-style prompt: special-token text in it is parsed (the caller writes the format
     * by hand), and {@code addSpecialTokens} (vLLM's default true) puts {@code <|begin_of_text|>} first, unless
     * the text already starts with it (no second one: the one rule of /v1/completions and /tokenize alike).
     */
    public TokenizeResult tokenizePrompt(String prompt, boolean addSpecialTokens, int maxModelLen) {
        return tokenize(prompt, addSpecialTokens, maxModelLen, false);
    }

    /**
     * {@link #tokenizePrompt}'s ids of a prompt to generate from ({@code /v1/completions}, whose
     * {@code add_special_tokens} is vLLM's too): one that proves longer than {@code maxModelLen} allows from a part
     * of its text is refused before the rest is encoded, as a chat prompt is ({@link LlamaTokenizer#tokensAtLeast}).
     */
    public int[] promptToGenerate(String prompt, boolean addSpecialTokens, int maxModelLen) {
        return tokenize(prompt, addSpecialTokens, maxModelLen, true).tokens();
    }

    private TokenizeResult tokenize(String prompt, boolean addSpecialTokens, int maxModelLen, boolean refuseTooLong) {
        if (prompt == null) {
            throw new InvalidRequestException("prompt", InvalidRequestException.MISSING, "prompt is required");
        }
        UnicodeText.requireValid("prompt", prompt);   // as a chat message: a lone surrogate has no UTF-8 form
        boolean bos = addSpecialTokens && !prompt.startsWith(SpecialTokens.BEGIN_OF_TEXT);
        if (refuseTooLong) {
            int atLeast = tokenizer.tokensAtLeast(prompt, GenerationRequest.maxPromptTokens(maxModelLen) - (bos ? 1 : 0),
                    true);
            if (atLeast >= 0) {
                throw InvalidRequestException.promptTooLong(GenerationRequest.ParamNames.COMPLETIONS.prompt(),
                        atLeast + (bos ? 1L : 0L), true, maxModelLen);
            }
        }
        int[] ids = tokenizer.encode(prompt, true);
        if (bos) {
            int[] withBos = new int[ids.length + 1];
            withBos[0] = tokenizer.specialTokens().beginOfText();
            System.arraycopy(ids, 0, withBos, 1, ids.length);
            ids = withBos;
        }
        return new TokenizeResult(ids.length, maxModelLen, ids, null);
    }

    /** A conversation, exactly as a chat request with the same fields would be prompted. */
    public TokenizeResult tokenizeChat(ChatInput input, int maxModelLen) {
        ChatPrompt prompt = chat.prepare(input);
        return new TokenizeResult(prompt.tokenCount(), maxModelLen, prompt.tokenIds(), prompt.text());
    }

    /** {@code /tokenize}'s {@code token_strs}: each id as the vocabulary spells it ({@link LlamaTokenizer#tokenString}). */
    public List<String> tokenStrings(int[] ids) {
        List<String> out = new ArrayList<>(ids.length);
        for (int id : ids) {
            out.add(tokenizer.tokenString(id));
        }
        return out;
    }

    /** {@code /detokenize}: the text of the ids, special tokens included; each id must be in the vocabulary. */
    public String detokenize(int[] tokens) {
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= tokenizer.vocabSize()) {
                throw new InvalidRequestException("tokens[" + i + "]", InvalidRequestException.INVALID_VALUE, "tokens["
                        + i + "] must be a token id in 0.." + (tokenizer.vocabSize() - 1) + "; got " + tokens[i]);
            }
        }
        return tokenizer.decode(tokens, false);
    }
}
