package dev.llamaserve.api.openai;

import static dev.llamaserve.api.openai.LogprobTokens.value;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.EngineEvent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The legacy completions logprobs shape: parallel lists of token text, its logprob, a map of up to
 * {@code top} alternatives plus the sampled token (OpenAI: "always the logprob of the sampled token, so up to
 * logprobs + 1 elements"), and the token's character offset in the completion text. Offsets follow the text as
 * the engine decodes it: a token that ends inside a character adds nothing until a later one completes it, so a
 * character split across tokens does not push later offsets past the text. One instance per choice (it carries
 * the running offset and the decoder's pending bytes). Offsets count code points, as OpenAI's and vLLM's Python
 * strings do, so a client that slices its text at an offset lands on the token after an emoji too.
 */
final class LegacyLogprobs {

    private final Detokenizer detokenizer;
    private final boolean asTokenIds;
    private final int top;
    private final Detokenizer.IncrementalDecoder text;
    private int offset;

    LegacyLogprobs(Detokenizer detokenizer, boolean asTokenIds, int top) {
        this.detokenizer = detokenizer;
        this.asTokenIds = asTokenIds;
        this.top = top;
        this.text = detokenizer.newDecoder();
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
            String piece = text.next(lp.tokenId());   // special tokens: ""
            offset += piece.codePointCount(0, piece.length());
            values.add(value(lp.logprob()));
            tokens.add(token);
            Map<String, Double> alternatives = new LinkedHashMap<>();
            for (EngineEvent.TopLogprob t : lp.top()) {
                if (alternatives.size() == top) {
                    break;
                }
                alternatives.putIfAbsent(token(t.tokenId()), value(t.logprob()));
            }
            alternatives.putIfAbsent(token, value(lp.logprob()));   // the sampled token, always
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
        return LogprobTokens.text(detokenizer, id, asTokenIds);
    }
}
