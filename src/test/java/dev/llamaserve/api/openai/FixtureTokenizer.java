package dev.llamaserve.api.openai;

import dev.llamaserve.chat.LlamaTokenizer;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** The tiny Llama 3.1 fixture's real tokenizer (src/test/resources), for API unit tests without a server. */
final class FixtureTokenizer {

    private static LlamaTokenizer tokenizer;

    private FixtureTokenizer() {}

    static synchronized LlamaTokenizer get() {
        if (tokenizer == null) {
            try {
                tokenizer = LlamaTokenizer.load(Path.of(FixtureTokenizer.class.getResource("/fixtures/tiny-llama31").toURI()));
            } catch (URISyntaxException e) {
                throw new IllegalStateException(e);
            }
        }
        return tokenizer;
    }

    /** The id of the token that is exactly this byte (the byte-level vocabulary has one for each). */
    static int byteToken(LlamaTokenizer tokenizer, int b) {
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            byte[] bytes = tokenizer.tokenBytes(id);
            if (bytes.length == 1 && (bytes[0] & 0xFF) == b) {
                return id;
            }
        }
        throw new AssertionError("no token for byte " + b);
    }
}
