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

        for (boolean asTokenIds : new boolean[] {false, true}) {
            List<ChatWire.TokenLogprob> out = new LogprobsRenderer(tokenizer, asTokenIds, 2).render(sampled);
            assertThat(out).as("token ids: %s", asTokenIds).hasSize(1);
            assertThat(out.get(0).token()).isEqualTo(asTokenIds ? "token_id:" + a : "a");
            assertThat(out.get(0).bytes()).containsExactly((int) 'a');
            assertThat(out.get(0).topLogprobs()).hasSize(2);
            assertThat(out.get(0).topLogprobs().get(0).token()).isEqualTo(asTokenIds ? "token_id:" + eot : "<|eot_id|>");
        }
    }
}
