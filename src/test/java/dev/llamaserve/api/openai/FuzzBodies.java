package dev.llamaserve.api.openai;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/** Malformed request bodies shared by the fuzz tests. */
final class FuzzBodies {

    /** Byte sequences that are not UTF-8: bad continuation, 0xFF, truncated, lone continuation, surrogate, 5-byte. */
    private static final byte[][] INVALID_UTF8 = {{(byte) 0xC3, 0x28}, {(byte) 0xFF}, {(byte) 0xE2, (byte) 0x82},
        {(byte) 0x80}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80}};

    private FuzzBodies() {
    }

    /** {@code valid} with one invalid UTF-8 sequence inserted at a random byte offset. */
    static byte[] withInvalidUtf8(String valid, Random random) {
        byte[] b = valid.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int at = random.nextInt(b.length);
        out.write(b, 0, at);
        out.writeBytes(INVALID_UTF8[random.nextInt(INVALID_UTF8.length)]);
        out.write(b, at, b.length - at);
        return out.toByteArray();
    }
}
