package dev.llamaserve.api.openai;

import static dev.llamaserve.api.openai.LogprobTokens.value;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.EngineEvent;
import java.util.ArrayList;
import java.util.List;

/**
 * Renders the engine's logprobs as OpenAI chat logprobs: token text ({@link LogprobTokens#text}), its UTF-8 bytes,
 * and the top alternatives. A sampled special token ({@code <|eot_id|>} that ends the answer, {@code <|eom_id|>},
 * {@code <|python_tag|>}) has no entry: its text is never part of the content, and OpenAI lists no end token, so
 * the entries' bytes, in order, are the content's. With {@code return_tokens_as_token_ids} every sampled token has
 * its entry, special ones included (as vLLM lists them), so that the ids are the completion's. Alternatives are
 * listed whatever they are.
 */
final class LogprobsRenderer {

    private final Detokenizer detokenizer;
    private final boolean asTokenIds;
    private final int top;

    LogprobsRenderer(Detokenizer detokenizer, boolean asTokenIds, int top) {
        this.detokenizer = detokenizer;
        this.asTokenIds = asTokenIds;
        this.top = top;
    }

    List<ChatWire.TokenLogprob> render(List<EngineEvent.TokenLogprob> logprobs) {
        List<ChatWire.TokenLogprob> out = new ArrayList<>(logprobs.size());
        for (EngineEvent.TokenLogprob lp : logprobs) {
            if (!asTokenIds && detokenizer.isSpecial(lp.tokenId())) {   // as ids, every sampled token is listed
                continue;
            }
            List<ChatWire.TopLogprob> alternatives = new ArrayList<>();
            for (EngineEvent.TopLogprob t : lp.top()) {
                if (alternatives.size() == top) {
                    break;
                }
                alternatives.add(new ChatWire.TopLogprob(token(t.tokenId()), value(t.logprob()), bytes(t.tokenId())));
            }
            out.add(new ChatWire.TokenLogprob(token(lp.tokenId()), value(lp.logprob()), bytes(lp.tokenId()),
                    alternatives));
        }
        return out;
    }

    private String token(int id) {
        return LogprobTokens.text(detokenizer, id, asTokenIds);
    }

    private List<Integer> bytes(int id) {
        byte[] b = detokenizer.tokenBytes(id);
        List<Integer> out = new ArrayList<>(b.length);
        for (byte x : b) {
            out.add(x & 0xff);
        }
        return out;
    }
}
