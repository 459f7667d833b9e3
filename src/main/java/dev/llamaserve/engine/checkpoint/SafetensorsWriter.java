package dev.llamaserve.engine.checkpoint;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors file: 8-byte little-endian header length, a JSON header of
 * {@code name → {dtype, shape, data_offsets}}, then the tensors' bytes. Used for the demo checkpoint,
 * benchmark checkpoints and test fixtures. Tensors are streamed to disk as they are added.
 */
public final class SafetensorsWriter {

    /** A tensor whose bytes are produced when the file is written. */
    public interface Source {
        void writeTo(OutputStream out) throws IOException;
    }

    private record Entry(String name, DType dtype, long[] shape, Source source) {}

    private final List<Entry> entries = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public SafetensorsWriter add(String name, DType dtype, long[] shape, Source source) {
        entries.add(new Entry(name, dtype, shape.clone(), source));
        return this;
    }

    /** Adds a tensor from float values, converted to {@code dtype}. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, float[] values) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        if (n != values.length) {
            throw new IllegalArgumentException(name + ": shape holds " + n + " elements, got " + values.length);
        }
        return add(name, dtype, shape, out -> writeFloats(out, dtype, values, 0, values.length));
    }

    public List<String> names() {
        return entries.stream().map(Entry::name).toList();
    }

    /** Writes the file; returns its size in bytes. */
    public long write(Path file) throws IOException {
        StringBuilder header = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            header.append("\"__metadata__\":{");
            boolean first = true;
            for (Map.Entry<String, String> m : metadata.entrySet()) {
                header.append(first ? "" : ",").append(quote(m.getKey())).append(':').append(quote(m.getValue()));
                first = false;
            }
            header.append('}');
        }
        long offset = 0;
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            long bytes = (long) e.dtype.bytes();
            StringBuilder shape = new StringBuilder("[");
            for (int d = 0; d < e.shape.length; d++) {
                bytes *= e.shape[d];
                shape.append(d == 0 ? "" : ",").append(e.shape[d]);
            }
            shape.append(']');
            header.append(header.length() > 1 ? "," : "").append(quote(e.name)).append(":{\"dtype\":\"")
                    .append(e.dtype.safetensorsName()).append("\",\"shape\":").append(shape)
                    .append(",\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        header.append('}');
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        int pad = (8 - h.length % 8) % 8;       // align the data to 8 bytes, as the reference writer does
        byte[] padded = new byte[h.length + pad];
        System.arraycopy(h, 0, padded, 0, h.length);
        for (int i = h.length; i < padded.length; i++) {
            padded[i] = ' ';
        }
        try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded.length).array());
            out.write(padded);
            for (Entry e : entries) {
                e.source.writeTo(out);
            }
        }
        return 8 + padded.length + offset;
    }

    /** Writes {@code values[from, to)} as {@code dtype}, little-endian. */
    public static void writeFloats(OutputStream out, DType dtype, float[] values, int from, int to)
            throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((to - from) * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = from; i < to; i++) {
            switch (dtype) {
                case F32 -> buf.putFloat(values[i]);
                case F16 -> buf.putShort(DType.toF16(values[i]));
                case BF16 -> buf.putShort(DType.toBf16(values[i]));
            }
        }
        out.write(buf.array());
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
