package dev.llamaserve.api.openai;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.EngineEvent;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
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

    /**
     * A token's text; a token that is not whole UTF-8 on its own (a piece of an emoji or a CJK character) is written
     * as OpenAI writes it, {@code bytes:\\xf0\\x9f}: decoded, every such token would be "\uFFFD", and in
     * {@code top_logprobs}, a map keyed by text, they would overwrite one another and the sampled token's value.
     */
    private String token(int id) {
        if (asTokenIds) {
            return "token_id:" + id;
        }
        byte[] bytes = detokenizer.tokenBytes(id);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            StringBuilder out = new StringBuilder("bytes:");
            for (byte b : bytes) {
                out.append(String.format("\\x%02x", b & 0xFF));
            }
            return out.toString();
        }
    }

    private static double value(float logprob) {
        return Float.isFinite(logprob) ? logprob : LogprobsRenderer.FLOOR;
    }
}
