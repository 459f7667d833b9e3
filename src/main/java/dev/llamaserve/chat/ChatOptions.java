package dev.llamaserve.chat;

import java.util.Objects;

/**
 * Chat settings (bound from {@code llm.chat.*} by the config package).
 *
 * @param dateString {@code llm.chat.date-string}: "Today Date" when the request does not set
 *     {@code chat_template_kwargs.date_string} (default {@code 26 Jul 2024}, the template's own)
 * @param rejectSpecialTokens {@code llm.chat.reject-special-tokens}: reject requests whose text
 *     contains special-token text with a 400 instead of encoding it as plain text (default false)
 * @param maxMessages {@code llm.chat.max-messages}: the most messages one request may carry (default 256)
 * @param enabled {@code llm.chat.enabled}: AUTO (default) turns the chat endpoint on when the
 *     checkpoint has a chat template
 */
public record ChatOptions(String dateString, boolean rejectSpecialTokens, int maxMessages, Enabled enabled) {

    public static final String DEFAULT_DATE = "26 Jul 2024";
    public static final int DEFAULT_MAX_MESSAGES = 256;

    public enum Enabled { AUTO, TRUE, FALSE }

    public ChatOptions {
        Objects.requireNonNull(dateString, "dateString");
        Objects.requireNonNull(enabled, "enabled");
        if (maxMessages < 1) {
            throw new IllegalArgumentException("llm.chat.max-messages must be at least 1, got " + maxMessages);
        }
    }

    public static ChatOptions defaults() {
        return new ChatOptions(DEFAULT_DATE, false, DEFAULT_MAX_MESSAGES, Enabled.AUTO);
    }
}
