package dev.llamaserve.api.openai;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.EngineEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The legacy completions logprobs shape: parallel lists of token text, its logprob, a map of up to
 * {@code top} alternatives, and the token's character offset in the completion text. One instance per
 * request (it carries the running offset).
 */
final class LegacyLogprobs {

    private final Detokenizer detokenizer;
    private final boolean asTokenIds;
    private final int top;
    private int offset;

    LegacyLogprobs(Detokenizer detokenizer, boolean asTokenIds, int top) {
        this.detokenizer = detokenizer;
        this.asTokenIds = asTokenIds;
        this.top = top;
    }

    /** The entries for the next tokens. */
    CompletionWire.Logprobs next(List<EngineEvent.TokenLogprob> logprobs) {
        List<Integer> offsets = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        List<String> tokens = new ArrayList<>();
        List<Map<String, Double>> tops = new ArrayList<>();
        for (EngineEvent.TokenLogprob lp : logprobs) {
            String token = token(lp.tokenId());
            offsets.add(offset);
            offset += detokenizer.isSpecial(lp.tokenId()) ? 0
                    : new String(detokenizer.tokenBytes(lp.tokenId()), StandardCharsets.UTF_8).length();
            values.add(value(lp.logprob()));
            tokens.add(token);
            Map<String, Double> alternatives = new LinkedHashMap<>();
            for (EngineEvent.TopLogprob t : lp.top()) {
                if (alternatives.size() == top) {
                    break;
                }
                alternatives.putIfAbsent(token(t.tokenId()), value(t.logprob()));
            }
            tops.add(alternatives);
        }
        return new CompletionWire.Logprobs(offsets, values, tokens, tops);
    }

    static CompletionWire.Logprobs concat(List<CompletionWire.Logprobs> parts) {
        List<Integer> offsets = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        List<String> tokens = new ArrayList<>();
        List<Map<String, Double>> tops = new ArrayList<>();
        for (CompletionWire.Logprobs p : parts) {
            offsets.addAll(p.textOffset());
            values.addAll(p.tokenLogprobs());
            tokens.addAll(p.tokens());
            tops.addAll(p.topLogprobs());
        }
        return new CompletionWire.Logprobs(offsets, values, tokens, tops);
    }

    private String token(int id) {
        return asTokenIds ? "token_id:" + id : new String(detokenizer.tokenBytes(id), StandardCharsets.UTF_8);
    }

    private static double value(float logprob) {
        return Float.isFinite(logprob) ? logprob : LogprobsRenderer.FLOOR;
    }
}
