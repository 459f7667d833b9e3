package dev.llamaserve.engine.device;

import java.util.Locale;

/**
 * The {@code llm.engine.kv-cache-memory} setting: {@code auto}, or an explicit size for the KV cache.
 *
 * @param bytes the explicit size; 0 when {@code auto}
 */
public record KvCacheMemory(boolean auto, long bytes) {

    public static final String PROPERTY = "llm.engine.kv-cache-memory";
    public static final KvCacheMemory AUTO = new KvCacheMemory(true, 0);

    public KvCacheMemory {
        if (!auto && bytes <= 0) {
            throw new IllegalArgumentException(PROPERTY + " must be auto or a positive size, was " + bytes + " bytes");
        }
    }

    public static KvCacheMemory ofBytes(long bytes) {
        return new KvCacheMemory(false, bytes);
    }

    /** {@code auto} (or blank), or a size as {@link MemorySize#parseBytes} reads it. */
    public static KvCacheMemory parse(String text) {
        if (text == null || text.isBlank() || text.trim().toLowerCase(Locale.ROOT).equals("auto")) {
            return AUTO;
        }
        return ofBytes(MemorySize.parseBytes(text, PROPERTY));
    }

    @Override
    public String toString() {
        return auto ? "auto" : MemorySize.format(bytes);
    }
}
