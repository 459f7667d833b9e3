package dev.llamaserve.chat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Compares a checkpoint's chat template with the official Llama 3.1 Instruct template (which Llama
 * 3.3 Instruct shares) that {@link Llama31ChatTemplate} implements.
 */
public final class ChatTemplateCheck {

    private static final String REFERENCE = load();

    private ChatTemplateCheck() {}

    /** The official template's Jinja source. */
    public static String reference() {
        return REFERENCE;
    }

    /**
     * Empty when {@code template} is the official one (trailing whitespace aside); otherwise a
     * one-line description of the first difference, for a startup warning.
     */
    public static Optional<String> difference(String template) {
        String a = REFERENCE.strip();
        String b = template.strip();
        if (a.equals(b)) {
            return Optional.empty();
        }
        String[] expected = a.split("\n", -1);
        String[] actual = b.split("\n", -1);
        int n = Math.min(expected.length, actual.length);
        for (int i = 0; i < n; i++) {
            if (!expected[i].equals(actual[i])) {
                return Optional.of("it differs from the Llama 3.1 template at line " + (i + 1) + ": expected "
                        + excerpt(expected[i]) + ", found " + excerpt(actual[i]) + " (" + actual.length
                        + " lines, the Llama 3.1 template has " + expected.length + ")");
            }
        }
        if (actual.length > expected.length) {
            int extra = n;
            while (actual[extra].isBlank()) {
                extra++; // the stripped text ends with a non-blank line
            }
            return Optional.of("it has " + (actual.length - expected.length) + " more line(s) than the Llama 3.1 "
                    + "template, from line " + (n + 1) + ": " + excerpt(actual[extra]));
        }
        return Optional.of("it ends at line " + n + " where the Llama 3.1 template continues with " + excerpt(expected[n]));
    }

    private static String excerpt(String line) {
        String s = line.strip();
        return "\"" + (s.length() > 80 ? s.substring(0, 80) + "…" : s) + "\"";
    }

    private static String load() {
        try (InputStream in = ChatTemplateCheck.class.getResourceAsStream("llama-3.1-chat-template.jinja")) {
            if (in == null) {
                throw new IllegalStateException("llama-3.1-chat-template.jinja is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
