package dev.llamaserve.chat;

import dev.llamaserve.engine.Detokenizer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tells whether a generated token id starts a tool call: the special token whose text is
 * {@code <|python_tag|>}, found through the engine's {@link Detokenizer} (special tokens never appear
 * in the engine's text deltas). Answers are cached per id.
 */
public final class ToolCallStartTokens {

    private final Detokenizer detokenizer;
    private final ConcurrentHashMap<Integer, Boolean> cache = new ConcurrentHashMap<>();

    public ToolCallStartTokens(Detokenizer detokenizer) {
        this.detokenizer = detokenizer;
    }

    /**
     * {@code current} if it answers for {@code detokenizer}, else a new instance for it (callers keep one and
     * pass it back, so a reloaded model's detokenizer gets fresh answers).
     */
    public static ToolCallStartTokens reuse(ToolCallStartTokens current, Detokenizer detokenizer) {
        return current != null && current.detokenizer == detokenizer ? current : new ToolCallStartTokens(detokenizer);
    }

    public boolean isStart(int tokenId) {
        return cache.computeIfAbsent(tokenId, id -> detokenizer.isSpecial(id)
                && ToolCallParser.PYTHON_TAG.equals(new String(detokenizer.tokenBytes(id), StandardCharsets.UTF_8)));
    }

    /** Index of the first tool-call start token in {@code ids}, or -1. */
    public int indexIn(int[] ids) {
        for (int i = 0; i < ids.length; i++) {
            if (isStart(ids[i])) {
                return i;
            }
        }
        return -1;
    }
}
