package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.engine.EngineEvent;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Chat logprobs on the tiny fixture's real tokenizer. */
class LogprobsRendererTest {

    private final LlamaTokenizer tokenizer = FixtureTokenizer.get();

    private int special(String text) {
        return tokenizer.addedTokenId(text).orElseThrow();
    }

    /** A sampled special token is never in the content: it has no entry; as an alternative it is listed. */
    @Test
    void sampledSpecialTokensHaveNoEntryAndAlternativesAreKept() {
        int a = FixtureTokenizer.byteToken(tokenizer, 'a');
        int eot = special("<|eot_id|>");
        int tag = special("<|python_tag|>");
        int eom = special("<|eom_id|>");
        List<EngineEvent.TokenLogprob> sampled = List.of(
                new EngineEvent.TokenLogprob(tag, -0.5f, List.of()),
                new EngineEvent.TokenLogprob(a, -1f, List.of(new EngineEvent.TopLogprob(eot, -0.25f),
                        new EngineEvent.TopLogprob(a, -1f))),
                new EngineEvent.TokenLogprob(eom, -0.1f, List.of()),
                new EngineEvent.TokenLogprob(eot, -0.1f, List.of()));

        List<ChatWire.TokenLogprob> out = new LogprobsRenderer(tokenizer, false, 2).render(sampled);
        assertThat(out).hasSize(1);
        assertThat(out.get(0).token()).isEqualTo("a");
        assertThat(out.get(0).bytes()).containsExactly((int) 'a');
        assertThat(out.get(0).topLogprobs()).hasSize(2);
        assertThat(out.get(0).topLogprobs().get(0).token()).isEqualTo("<|eot_id|>");

        // as token ids (vLLM's return_tokens_as_token_ids) every sampled token is listed: the ids are the completion's
        List<ChatWire.TokenLogprob> ids = new LogprobsRenderer(tokenizer, true, 2).render(sampled);
        assertThat(ids).extracting(ChatWire.TokenLogprob::token).containsExactly("token_id:" + tag, "token_id:" + a,
                "token_id:" + eom, "token_id:" + eot);
        assertThat(ids.get(1).topLogprobs().get(0).token()).isEqualTo("token_id:" + eot);
    }

    /**
     * A token that is not whole UTF-8 on its own is named by its bytes, as in the legacy shape and as OpenAI names
     * it, so alternatives that are different bytes do not all read "\uFFFD"; its bytes are the raw ones.
     */
    @Test
    void tokensThatAreNotWholeUtf8AreNamedByTheirBytes() {
        int f0 = FixtureTokenizer.byteToken(tokenizer, 0xF0);
        int x9f = FixtureTokenizer.byteToken(tokenizer, 0x9F);
        int a = FixtureTokenizer.byteToken(tokenizer, 'a');
        EngineEvent.TokenLogprob sampled = new EngineEvent.TokenLogprob(f0, -2f, List.of(
                new EngineEvent.TopLogprob(x9f, -1f), new EngineEvent.TopLogprob(a, -1.5f),
                new EngineEvent.TopLogprob(f0, Float.NEGATIVE_INFINITY)));

        ChatWire.TokenLogprob lp = new LogprobsRenderer(tokenizer, false, 3).render(List.of(sampled)).get(0);

        assertThat(lp.token()).isEqualTo("bytes:\\xf0");
        assertThat(lp.bytes()).containsExactly(0xF0);
        assertThat(lp.topLogprobs()).extracting(ChatWire.TopLogprob::token)
                .containsExactly("bytes:\\x9f", "a", "bytes:\\xf0");
        assertThat(lp.topLogprobs()).extracting(ChatWire.TopLogprob::logprob).containsExactly(-1.0, -1.5, -9999.0);
        assertThat(new LegacyLogprobs(tokenizer, false, 3).next(List.of(sampled)).tokens())
                .as("the legacy shape's name for the same token").containsExactly(lp.token());
    }
}
