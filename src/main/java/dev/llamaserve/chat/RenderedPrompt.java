package dev.llamaserve.chat;

import java.util.List;

/**
 * A rendered chat prompt as a list of segments: special-token text (the template's structure,
 * encoded as control ids), template literal text and request text (both encoded as plain text).
 */
public record RenderedPrompt(List<Segment> segments) {

    public RenderedPrompt {
        segments = List.copyOf(segments);
    }

    public enum Kind {
        /** The text of one special token, e.g. {@code <|eot_id|>}: encoded as its id. */
        SPECIAL,
        /** Text written by the template itself. */
        TEMPLATE,
        /** Text that comes from the request: never parsed for special tokens. */
        REQUEST
    }

    /**
     * @param param for request text, the field it came from ({@code messages[2].content}); else null
     */
    public record Segment(Kind kind, String text, String param) {
        @Override
        public String toString() {
            return kind == Kind.REQUEST ? "Segment[REQUEST " + param + ", chars=" + text.length() + "]"
                    : "Segment[" + kind + " " + text + "]";
        }
    }

    /** The whole prompt text, as the Jinja template renders it. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        for (Segment s : segments) {
            sb.append(s.text());
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return "RenderedPrompt[segments=" + segments.size() + "]";
    }
}
