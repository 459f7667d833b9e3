package dev.llamaserve.chat;

/**
 * GPT-2's byte-level alphabet: byte-level BPE vocabularies spell every byte as one printable
 * Unicode character ({@code 'Ġ'} for a space). This maps a vocabulary entry back to its bytes.
 */
final class ByteLevelAlphabet {

    /** Code point → byte, or -1 for characters outside the alphabet. */
    private static final int[] CHAR_TO_BYTE = new int[512];
    /** Byte → its character. */
    private static final char[] BYTE_TO_CHAR = new char[256];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            int ch = printable ? b : 256 + extra++;
            CHAR_TO_BYTE[ch] = b;
            BYTE_TO_CHAR[b] = (char) ch;
        }
    }

    /** The vocabulary entry that stands for these bytes ({@link #toBytes}'s inverse). */
    static String spell(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(out);
    }

    private ByteLevelAlphabet() {}

    /** The bytes a vocabulary entry stands for; null when it is not spelled in the byte alphabet. */
    static byte[] toBytes(String token) {
        byte[] out = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b < 0) {
                return null;
            }
            out[i] = (byte) b;
        }
        return out;
    }
}
