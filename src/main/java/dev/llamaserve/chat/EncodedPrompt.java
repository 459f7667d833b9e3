package dev.llamaserve.chat;

import java.util.List;

/**
 * A rendered prompt as token ids, with where each piece of request text landed.
 *
 * @param tokenIds the prompt ids, exactly one {@code <|begin_of_text|>} first
 * @param requestSpans one entry per request-text segment, in order
 */
public record EncodedPrompt(int[] tokenIds, List<TokenSpan> requestSpans) {

    public EncodedPrompt {
        requestSpans = List.copyOf(requestSpans);
    }

    /**
     * The tokens that carry one request-text segment: {@code tokenIds[start, end)}. When the segment
     * shares a pre-token with adjacent template text (BPE may merge across that edge), the range
     * includes the shared token and {@code aligned} is false, as it is when the range holds an added token
     * that took in whitespace beside it ({@code lstrip}, {@code rstrip}: the whitespace has no token);
     * otherwise the range decodes to exactly the segment's text.
     */
    public record TokenSpan(String param, int start, int end, boolean aligned) {}

    @Override
    public String toString() {
        return "EncodedPrompt[tokens=" + tokenIds.length + ", requestSpans=" + requestSpans.size() + "]";
    }
}
