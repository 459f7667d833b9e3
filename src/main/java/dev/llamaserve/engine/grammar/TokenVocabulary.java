package dev.llamaserve.engine.grammar;

import dev.llamaserve.engine.Detokenizer;

/**
 * A byte-level vocabulary: the bytes each token id stands for. Control tokens (special tokens) have no
 * bytes here and are never allowed by a mask, except the end-of-sequence ids given to the
 * {@link TokenMasker}, allowed only where the document is complete.
 */
public interface TokenVocabulary {

    int size();

    /** The token's bytes; empty for control tokens. Must not be modified by the caller. */
    byte[] tokenBytes(int id);

    /** Adapts the engine's tokenizer view (e.g. {@code chat.LlamaTokenizer}): special tokens get no bytes. */
    static TokenVocabulary of(Detokenizer tokenizer, int size) {
        byte[][] bytes = new byte[size][];
        for (int id = 0; id < size; id++) {
            bytes[id] = tokenizer.isSpecial(id) ? new byte[0] : bytesOrNone(tokenizer, id);
        }
        return of(bytes);
    }

    /** Ids the model has but the tokenizer lacks (padding rows of the embedding) get no bytes. */
    private static byte[] bytesOrNone(Detokenizer tokenizer, int id) {
        try {
            return tokenizer.tokenBytes(id);
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            return new byte[0];
        }
    }

    /** A vocabulary over the given byte strings (not copied). */
    static TokenVocabulary of(byte[][] tokens) {
        return new TokenVocabulary() {
            @Override
            public int size() {
                return tokens.length;
            }

            @Override
            public byte[] tokenBytes(int id) {
                return tokens[id];
            }
        };
    }
}
