package dev.llamaserve.chat;

import java.io.ByteArrayOutputStream;

/**
 * Incremental, lossy UTF-8 decoding. Bytes are appended as tokens arrive; {@link #drain()} returns
 * the text they complete and holds back a trailing sequence that is still a valid prefix of a
 * character. Each maximal invalid subpart becomes one U+FFFD, as Rust's {@code from_utf8_lossy}
 * (Hugging Face's byte-level decoder) and the Unicode recommendation do.
 */
final class Utf8Accumulator {

    static final char REPLACEMENT = '\uFFFD';

    private byte[] pending = new byte[8];
    private int length;

    void append(byte[] bytes) {
        if (length + bytes.length > pending.length) {
            pending = java.util.Arrays.copyOf(pending, Math.max(pending.length * 2, length + bytes.length));
        }
        System.arraycopy(bytes, 0, pending, length, bytes.length);
        length += bytes.length;
    }

    /** The text completed so far; an incomplete but valid trailing sequence stays pending. */
    String drain() {
        StringBuilder out = new StringBuilder();
        int consumed = decode(pending, 0, length, out, false);
        System.arraycopy(pending, consumed, pending, 0, length - consumed);
        length -= consumed;
        return out.toString();
    }

    /** Everything pending; a dangling prefix becomes U+FFFD. */
    String flush() {
        StringBuilder out = new StringBuilder();
        decode(pending, 0, length, out, true);
        length = 0;
        return out.toString();
    }

    /** Lossy decoding of a complete byte sequence. */
    static String decodeLossy(byte[] bytes) {
        StringBuilder out = new StringBuilder(bytes.length);
        decode(bytes, 0, bytes.length, out, true);
        return out.toString();
    }

    static String decodeLossy(ByteArrayOutputStream bytes) {
        return decodeLossy(bytes.toByteArray());
    }

    /**
     * Decodes {@code b[from, to)} into {@code out}; returns the index up to which bytes were consumed
     * (less than {@code to} only when {@code atEnd} is false and a valid prefix of a character is
     * left at the end).
     */
    private static int decode(byte[] b, int from, int to, StringBuilder out, boolean atEnd) {
        int i = from;
        while (i < to) {
            int lead = b[i] & 0xFF;
            if (lead < 0x80) {
                out.append((char) lead);
                i++;
                continue;
            }
            int need;
            int lo = 0x80;
            int hi = 0xBF;
            if (lead >= 0xC2 && lead <= 0xDF) {
                need = 1;
            } else if (lead >= 0xE0 && lead <= 0xEF) {
                need = 2;
                if (lead == 0xE0) {
                    lo = 0xA0;
                } else if (lead == 0xED) {
                    hi = 0x9F;
                }
            } else if (lead >= 0xF0 && lead <= 0xF4) {
                need = 3;
                if (lead == 0xF0) {
                    lo = 0x90;
                } else if (lead == 0xF4) {
                    hi = 0x8F;
                }
            } else {
                out.append(REPLACEMENT); // 0x80..0xC1, 0xF5..0xFF never start a character
                i++;
                continue;
            }
            int j = i + 1;
            int codePoint = lead & (0x3F >> need);
            boolean invalid = false;
            for (int k = 0; k < need; k++, j++) {
                if (j >= to) {
                    break;
                }
                int c = b[j] & 0xFF;
                int min = k == 0 ? lo : 0x80;
                int max = k == 0 ? hi : 0xBF;
                if (c < min || c > max) {
                    invalid = true;
                    break;
                }
                codePoint = (codePoint << 6) | (c & 0x3F);
            }
            if (invalid) {
                out.append(REPLACEMENT); // the maximal subpart b[i, j) is replaced as one
                i = j;
            } else if (j - i < need + 1) {
                if (!atEnd) {
                    return i; // a valid prefix: wait for the bytes that complete it
                }
                out.append(REPLACEMENT);
                i = j;
            } else {
                out.appendCodePoint(codePoint);
                i = j;
            }
        }
        return to;
    }
}
