package dev.llamaserve.ops.limits;

/** What a per-client limit counts; the wire name is OpenAI's error {@code type} and header suffix. */
public enum LimitKind {
    REQUESTS("requests"),
    TOKENS("tokens");

    private final String wireName;

    LimitKind(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }
}
