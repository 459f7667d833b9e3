package dev.llamaserve.engine;

/**
 * Turns token ids into text. Declared here so the engine needs no dependency on the tokenizer
 * implementation (package {@code chat} implements it).
 */
public interface Detokenizer {

    /** A decoder for one sequence's output, fed one token at a time. */
    IncrementalDecoder newDecoder();

    /** Decodes a whole sequence; special tokens are left out when {@code skipSpecialTokens}. */
    String decode(int[] ids, boolean skipSpecialTokens);

    /** The raw bytes a token stands for (its text, for special tokens). */
    byte[] tokenBytes(int id);

    /** True for control tokens such as {@code <|eot_id|>}. */
    boolean isSpecial(int id);

    interface IncrementalDecoder {
        /**
         * Feeds one token; returns the text it completes. Bytes of an incomplete UTF-8 character are
         * held back until a later token completes them; a sequence proven invalid yields U+FFFD.
         * Special tokens yield "".
         */
        String next(int tokenId);

        /** Releases whatever is held back at the end of the sequence (U+FFFD for a dangling prefix). */
        String flush();
    }
}
