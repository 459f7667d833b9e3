package dev.llamaserve.chat;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Path;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The tiny Llama 3.1 checkpoint under src/test/resources, shared by the chat tests. */
final class TinyLlamaFixture {

    private static LlamaTokenizer tokenizer;
    private static JsonNode reference;

    private TinyLlamaFixture() {}

    static Path dir() {
        try {
            return Path.of(TinyLlamaFixture.class.getResource("/fixtures/tiny-llama31").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One tokenizer for all tests (it is immutable and thread-safe). */
    static synchronized LlamaTokenizer tokenizer() {
        if (tokenizer == null) {
            tokenizer = LlamaTokenizer.load(dir());
        }
        return tokenizer;
    }

    static synchronized JsonNode reference() {
        if (reference == null) {
            try (InputStream in = TinyLlamaFixture.class.getResourceAsStream(
                    "/fixtures/tiny-llama31/reference-outputs.json")) {
                reference = JsonMapper.builder().build().readTree(in);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return reference;
    }
}
