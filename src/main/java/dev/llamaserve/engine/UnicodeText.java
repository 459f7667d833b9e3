package dev.llamaserve.engine;

/**
 * The one rule for text a request carries (prompt messages, stop strings): it must be valid Unicode. JSON can carry
 * {@code "\ud800"} escapes; such text has no UTF-8 form (vLLM fails on it too), and a stop string holding half a
 * character would cut the answer inside one.
 */
public final class UnicodeText {

    private UnicodeText() {}

    /** @throws InvalidRequestException naming {@code param} when {@code text} holds an unpaired UTF-16 surrogate */
    public static void requireValid(String param, String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new InvalidRequestException(param, InvalidRequestException.INVALID_VALUE, param
                        + " contains an unpaired UTF-16 surrogate (\\u" + Integer.toHexString(c)
                        + "), which is not valid Unicode text");
            }
        }
    }
}
