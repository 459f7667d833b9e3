package dev.llamaserve.api.openai;

import dev.llamaserve.engine.Detokenizer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** How a logprobs entry names its token and writes its value, in chat and legacy completions alike. */
final class LogprobTokens {

    /** What -inf and NaN logprobs are written as (JSON has no infinity). */
    static final double FLOOR = -9999.0;

    private LogprobTokens() {}

    /**
     * A token's text, or {@code token_id:<id>} with vLLM's {@code return_tokens_as_token_ids}. A token that is not
     * whole UTF-8 on its own (a piece of an emoji or a CJK character) is written as OpenAI writes it,
     * {@code bytes:\xf0\x9f}: decoded, every such token would be "\uFFFD", and the top alternatives (in the
     * legacy shape, a map keyed by text) would look alike or overwrite one another.
     */
    static String text(Detokenizer detokenizer, int id, boolean asTokenIds) {
        if (asTokenIds) {
            return "token_id:" + id;
        }
        byte[] bytes = detokenizer.tokenBytes(id);
        // whole UTF-8 exactly where decoding and encoding again gives the bytes back (each malformed part decodes
        // to U+FFFD, whose bytes it is not): no decoder and no exception per token and alternative
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (Arrays.equals(text.getBytes(StandardCharsets.UTF_8), bytes)) {
            return text;
        }
        StringBuilder out = new StringBuilder("bytes:");
        for (byte b : bytes) {
            out.append(String.format("\\x%02x", b & 0xFF));
        }
        return out.toString();
    }

    /** The logprob as written: {@link #FLOOR} for -inf and NaN. */
    static double value(float logprob) {
        return Float.isFinite(logprob) ? logprob : FLOOR;
    }
}
