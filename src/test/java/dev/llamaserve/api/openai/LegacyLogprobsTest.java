package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.engine.EngineEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LegacyLogprobsTest {

    private final LlamaTokenizer tokenizer = FixtureTokenizer.get();

    @Test
    void offsetsCountCodePointsSoAnEmojiIsOneCharacterAsInOpenAisPythonStrings() {
        // "😀a😀b", one byte per token: each emoji is four tokens and completes at its last
        List<EngineEvent.TokenLogprob> tokens = new ArrayList<>();
        for (byte b : "😀a😀b".getBytes(StandardCharsets.UTF_8)) {
            tokens.add(new EngineEvent.TokenLogprob(FixtureTokenizer.byteToken(tokenizer, b & 0xFF), -1f, List.of()));
        }

        CompletionWire.Logprobs lp = new LegacyLogprobs(tokenizer, false, 0).next(tokens);

        // text[offset:] in Python starts at the token: "a" at 1, the second emoji at 2, "b" at 3 (not 2, 3 and 5)
        assertThat(lp.textOffset()).containsExactly(0, 0, 0, 0, 1, 2, 2, 2, 2, 3);
    }

    /** Partial UTF-8 tokens are named by their bytes, as OpenAI names them, so each keeps its own entry. */
    @Test
    void tokensThatAreNotWholeUtf8AreWrittenAsTheirBytesAndKeepTheirOwnTopEntries() {
        int f0 = FixtureTokenizer.byteToken(tokenizer, 0xF0);
        int x9f = FixtureTokenizer.byteToken(tokenizer, 0x9F);
        int a = FixtureTokenizer.byteToken(tokenizer, 'a');
        EngineEvent.TokenLogprob sampled = new EngineEvent.TokenLogprob(f0, -2f,
                List.of(new EngineEvent.TopLogprob(x9f, -1f), new EngineEvent.TopLogprob(a, -1.5f),
                        new EngineEvent.TopLogprob(f0, -2f)));

        CompletionWire.Logprobs lp = new LegacyLogprobs(tokenizer, false, 2).next(List.of(sampled));

        assertThat(lp.tokens()).containsExactly("bytes:\\xf0");
        assertThat(lp.topLogprobs().get(0)).containsExactly(java.util.Map.entry("bytes:\\x9f", -1.0),
                java.util.Map.entry("a", -1.5), java.util.Map.entry("bytes:\\xf0", -2.0));
    }
}
