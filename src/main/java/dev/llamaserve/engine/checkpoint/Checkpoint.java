package dev.llamaserve.engine.checkpoint;

import dev.llamaserve.engine.model.ModelConfig;
import dev.llamaserve.engine.model.ModelConfigParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A Hugging Face Llama checkpoint directory: {@code config.json} plus {@code model.safetensors} or
 * {@code model.safetensors.index.json} and its shards. {@link #open} reads and validates every header
 * against the config before anything is loaded; tensor data is memory-mapped one tensor at a time
 * ({@link #map}), never read onto the heap.
 */
public final class Checkpoint {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Checkpoint.class);
    private static final String TIED_LM_HEAD = "lm_head.weight";

    public static final String CONFIG = "config.json";
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";
    /** A safetensors header larger than this is refused as corrupt (real ones are tens of KiB). */
    static final long MAX_HEADER_BYTES = 100L << 20;

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Path dir;
    private final ModelConfig config;
    private final Map<String, TensorInfo> tensors;   // in expected (load) order
    private final List<Path> shards;

    private Checkpoint(Path dir, ModelConfig config, Map<String, TensorInfo> tensors, List<Path> shards) {
        this.dir = dir;
        this.config = config;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.shards = List.copyOf(shards);
    }

    public Path directory() {
        return dir;
    }

    public ModelConfig config() {
        return config;
    }

    /** All tensors, in the order {@link ModelConfig#tensorShapes} lists them. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public List<Path> shards() {
        return shards;
    }

    public TensorInfo tensor(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new CheckpointException(dir + ": no tensor '" + name + "'");
        }
        return t;
    }

    /** Bytes of all tensor data as stored. */
    public long totalBytes() {
        return tensors.values().stream().mapToLong(TensorInfo::byteLength).sum();
    }

    /** Maps one tensor's bytes read-only, little-endian. Each tensor must be under 2 GiB (Java 17 mapping limit). */
    public static ByteBuffer map(TensorInfo t) {
        if (t.byteLength() > Integer.MAX_VALUE) {
            throw new CheckpointException(t.file() + ": tensor '" + t.name() + "' is " + t.byteLength()
                    + " bytes; a single tensor over 2 GiB cannot be mapped");
        }
        try (FileChannel ch = FileChannel.open(t.file(), StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, t.offset(), t.byteLength()).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new CheckpointException(t.file() + ": cannot map tensor '" + t.name() + "': " + e.getMessage(), e);
        }
    }

    /** {@code sun.misc.Unsafe} and its {@code invokeCleaner(ByteBuffer)}, or null where this JDK lacks them. */
    private static final Object UNSAFE;
    private static final java.lang.reflect.Method INVOKE_CLEANER;

    static {
        Object unsafe = null;
        java.lang.reflect.Method cleaner = null;
        try {
            Class<?> c = Class.forName("sun.misc.Unsafe");
            java.lang.reflect.Field f = c.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            unsafe = f.get(null);
            cleaner = c.getMethod("invokeCleaner", ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            unsafe = null;
            cleaner = null;
        }
        UNSAFE = unsafe;
        INVOKE_CLEANER = cleaner;
    }

    /**
     * Maps tensor {@code t}, hands its bytes to {@code use} and unmaps them when it returns ({@link #unmap}): what
     * {@code use} makes of them must be a copy, not a view.
     */
    public static <T> T withMapped(TensorInfo t, java.util.function.Function<ByteBuffer, T> use) {
        ByteBuffer bytes = map(t);
        try {
            return use.apply(bytes);
        } finally {
            unmap(bytes);
        }
    }

    /**
     * Unmaps a buffer from {@link #map} now rather than whenever the collector finds it. A load maps each tensor once
     * and copies it; until its buffer is collected, each mapping keeps the file pages it read in the process's RSS,
     * and a later load of the same checkpoint maps them again (the bench's five 8B loads showed a peak RSS of 44 GB
     * on a 24 GiB machine). The caller must have finished with it, views included: touching it afterwards crashes
     * the JVM. Where the JDK offers no way ({@code sun.misc.Unsafe.invokeCleaner}), it is left to the collector.
     */
    public static void unmap(ByteBuffer mapped) {
        if (INVOKE_CLEANER != null && mapped.isDirect()) {
            try {
                INVOKE_CLEANER.invoke(UNSAFE, mapped);
            } catch (ReflectiveOperationException | RuntimeException e) {
                // a slice or duplicate, or the JDK refused: the collector unmaps it, as before
            }
        }
    }

    /** Opens and validates a checkpoint directory. Throws {@link CheckpointException} naming file and tensor. */
    public static Checkpoint open(Path modelDir) {
        Path dir = modelDir.toAbsolutePath().normalize();
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new CheckpointException(configFile + ": missing (not a Hugging Face model directory?)");
        }
        ModelConfig config = ModelConfigParser.parse(configFile);

        Map<String, TensorInfo> found = new LinkedHashMap<>();
        List<Path> shards = new ArrayList<>();
        Path index = dir.resolve(INDEX);
        if (Files.isRegularFile(index)) {
            Map<String, Path> weightMap = readIndex(dir, index);
            shards.addAll(new LinkedHashSet<>(weightMap.values()));
            Map<String, Path> seenIn = new LinkedHashMap<>();
            for (Path shard : shards) {
                for (TensorInfo t : readHeader(shard)) {
                    Path other = seenIn.putIfAbsent(t.name(), shard);
                    if (other != null) {
                        throw new CheckpointException(shard + ": tensor '" + t.name() + "' is also in " + other);
                    }
                    found.put(t.name(), t);
                }
            }
            for (Map.Entry<String, Path> e : weightMap.entrySet()) {
                Path actual = seenIn.get(e.getKey());
                if (!e.getValue().equals(actual)) {
                    throw new CheckpointException(index + ": tensor '" + e.getKey() + "' is mapped to "
                            + e.getValue().getFileName() + " but that shard does not contain it"
                            + (actual == null ? "" : " (it is in " + actual.getFileName() + ")"));
                }
            }
            for (String name : found.keySet()) {
                if (!weightMap.containsKey(name)) {
                    throw new CheckpointException(seenIn.get(name) + ": tensor '" + name + "' is not listed in " + index);
                }
            }
        } else {
            Path single = dir.resolve(SINGLE);
            if (!Files.isRegularFile(single)) {
                throw new CheckpointException(dir + ": neither " + SINGLE + " nor " + INDEX + " found");
            }
            shards.add(single);
            for (TensorInfo t : readHeader(single)) {
                found.put(t.name(), t);
            }
        }

        Map<String, long[]> expected = config.tensorShapes();
        Map<String, TensorInfo> ordered = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            TensorInfo t = found.get(e.getKey());
            if (t == null) {
                throw new CheckpointException(dir + ": tensor '" + e.getKey() + "' is missing (config "
                        + CONFIG + " implies shape " + Arrays.toString(e.getValue()) + ")");
            }
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new CheckpointException(t.file() + ": tensor '" + t.name() + "' has shape "
                        + Arrays.toString(t.shape()) + " but " + CONFIG + " implies " + Arrays.toString(e.getValue()));
            }
            ordered.put(t.name(), t);
        }
        for (TensorInfo t : found.values()) {
            if (config.tieWordEmbeddings() && t.name().equals(TIED_LM_HEAD)
                    && Arrays.equals(t.shape(), expected.get("model.embed_tokens.weight"))) {
                // some exports keep a copy; tied, the output projection is the embedding (transformers, vLLM)
                log.warn("{}: '{}' is not read: tie_word_embeddings makes the output projection the embedding",
                        t.file(), TIED_LM_HEAD);
                continue;
            }
            if (!expected.containsKey(t.name())) {
                throw new CheckpointException(t.file() + ": unexpected tensor '" + t.name() + "' for "
                        + config.architecture() + " with " + config.numHiddenLayers() + " layers"
                        + (config.tieWordEmbeddings() ? " and tie_word_embeddings" : ""));
            }
        }
        return new Checkpoint(dir, config, ordered, shards);
    }

    /** {@code weight_map} of an index, with every shard resolved and checked to lie inside {@code dir}. */
    private static Map<String, Path> readIndex(Path dir, Path index) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(index));
        } catch (IOException | JacksonException e) {
            throw new CheckpointException(index + ": not readable JSON: " + e, e);   // the class: AccessDenied, ...
        }
        JsonNode wm = root == null ? null : root.get("weight_map");
        if (wm == null || !wm.isObject()) {
            throw new CheckpointException(index + ": no 'weight_map' object");
        }
        Map<String, Path> resolved = new LinkedHashMap<>();
        Map<String, Path> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : wm.properties()) {
            if (!e.getValue().isString()) {
                throw new CheckpointException(index + ": tensor '" + e.getKey() + "' maps to " + e.getValue()
                        + ", expected a shard file name");
            }
            String fileName = e.getValue().asString();
            Path shard = resolved.get(fileName);
            if (shard == null) {
                shard = resolveShard(dir, index, e.getKey(), fileName);
                resolved.put(fileName, shard);
            }
            out.put(e.getKey(), shard);
        }
        return out;
    }

    private static Path resolveShard(Path dir, Path index, String tensor, String fileName) {
        Path rel;
        try {
            rel = Path.of(fileName);
        } catch (RuntimeException ex) {
            throw new CheckpointException(index + ": tensor '" + tensor + "': invalid shard name '" + fileName + "'");
        }
        if (fileName.isEmpty() || rel.isAbsolute() || fileName.startsWith("/") || fileName.startsWith("\\")) {
            throw new CheckpointException(index + ": tensor '" + tensor + "': shard '" + fileName
                    + "' must be a file name inside the model directory");
        }
        Path shard = dir.resolve(rel).normalize();
        if (!shard.startsWith(dir) || !shard.getParent().equals(dir)) {
            throw new CheckpointException(index + ": tensor '" + tensor + "': shard '" + fileName
                    + "' leaves the model directory " + dir);
        }
        if (!Files.exists(shard, LinkOption.NOFOLLOW_LINKS) && !Files.exists(shard)) {
            throw new CheckpointException(index + ": tensor '" + tensor + "': shard '" + fileName
                    + "' does not exist (" + shard + ")");
        }
        Path real;
        try {
            real = shard.toRealPath();
        } catch (IOException ex) {
            throw new CheckpointException(index + ": tensor '" + tensor + "': shard '" + fileName
                    + "' does not exist or cannot be resolved (" + shard + ")", ex);
        }
        // a link may lead out of the directory: the Hugging Face cache's snapshots/<rev>/ holds links to
        // ../../blobs/<sha>, as `huggingface-cli download` leaves them (the name itself cannot leave: checked above)
        if (!Files.isRegularFile(real)) {
            throw new CheckpointException(index + ": tensor '" + tensor + "': shard '" + fileName
                    + "' is not a regular file");
        }
        return shard;
    }

    /** Reads and validates one safetensors header; touches no tensor data. */
    static List<TensorInfo> readHeader(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new CheckpointException(file + ": truncated: " + size + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, file);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
                throw new CheckpointException(file + ": header length " + headerLen
                        + " is out of bounds for a file of " + size + " bytes (truncated or not safetensors)");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8, file);
            JsonNode root;
            try {
                root = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
            } catch (JacksonException e) {
                throw new CheckpointException(file + ": header is not valid JSON: " + e.getOriginalMessage(), e);
            }
            if (root == null || !root.isObject()) {
                throw new CheckpointException(file + ": header is not a JSON object");
            }
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            List<TensorInfo> out = new ArrayList<>();
            List<long[]> ranges = new ArrayList<>();
            List<String> rangeNames = new ArrayList<>();
            for (Map.Entry<String, JsonNode> e : root.properties()) {
                String name = e.getKey();
                if ("__metadata__".equals(name)) {
                    continue;
                }
                TensorInfo t = tensorEntry(file, name, e.getValue(), dataStart, dataLen);
                out.add(t);
                ranges.add(new long[] {t.offset() - dataStart, t.offset() - dataStart + t.byteLength(), ranges.size()});
                rangeNames.add(name);
            }
            ranges.sort(Comparator.comparingLong(r -> r[0]));
            for (int i = 1; i < ranges.size(); i++) {
                long[] prev = ranges.get(i - 1);
                long[] cur = ranges.get(i);
                if (cur[0] < prev[1] && cur[1] > cur[0] && prev[1] > prev[0]) {
                    throw new CheckpointException(file + ": tensor '" + rangeNames.get((int) cur[2])
                            + "' data [" + cur[0] + ", " + cur[1] + ") overlaps tensor '"
                            + rangeNames.get((int) prev[2]) + "' [" + prev[0] + ", " + prev[1] + ")");
                }
            }
            return out;
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e, e);   // the class: AccessDenied, ...
        }
    }

    private static TensorInfo tensorEntry(Path file, String name, JsonNode e, long dataStart, long dataLen) {
        if (e == null || !e.isObject()) {
            throw new CheckpointException(file + ": tensor '" + name + "': header entry is not an object");
        }
        JsonNode dt = e.get("dtype");
        DType dtype = dt != null && dt.isString() ? DType.fromSafetensors(dt.asString()) : null;
        if (dtype == null) {
            throw new CheckpointException(file + ": tensor '" + name + "': unknown dtype " + dt
                    + " (supported: BF16, F16, F32)");
        }
        JsonNode sh = e.get("shape");
        if (sh == null || !sh.isArray()) {
            throw new CheckpointException(file + ": tensor '" + name + "': 'shape' is not an array");
        }
        long[] shape = new long[sh.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
                throw new CheckpointException(file + ": tensor '" + name + "': bad shape " + sh);
            }
            shape[i] = d.asLong();
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException ex) {
                throw new CheckpointException(file + ": tensor '" + name + "': shape " + sh + " overflows");
            }
        }
        JsonNode off = e.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber()
                || !off.get(1).isIntegralNumber() || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong()) {
            throw new CheckpointException(file + ": tensor '" + name + "': 'data_offsets' must be [begin, end], was " + off);
        }
        long begin = off.get(0).asLong();
        long end = off.get(1).asLong();
        if (begin < 0 || end < begin || end > dataLen) {
            throw new CheckpointException(file + ": tensor '" + name + "': data_offsets [" + begin + ", " + end
                    + "] out of bounds for " + dataLen + " data bytes (truncated file?)");
        }
        long expectedBytes;
        try {
            expectedBytes = Math.multiplyExact(elements, dtype.bytes());
        } catch (ArithmeticException ex) {
            throw new CheckpointException(file + ": tensor '" + name + "': shape " + sh + " overflows");
        }
        if (end - begin != expectedBytes) {
            throw new CheckpointException(file + ": tensor '" + name + "': " + (end - begin) + " data bytes but shape "
                    + Arrays.toString(shape) + " of " + dtype + " needs " + expectedBytes);
        }
        return new TensorInfo(name, dtype, shape, file, dataStart + begin, end - begin);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos, Path file) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                throw new CheckpointException(file + ": truncated while reading the header");
            }
        }
    }

    @Override
    public String toString() {
        return "Checkpoint[" + dir + ", " + tensors.size() + " tensors in " + shards.size() + " file(s)]";
    }
}
