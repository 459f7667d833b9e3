package dev.llamaserve.engine.checkpoint;

import dev.llamaserve.engine.model.ModelConfig;
import dev.llamaserve.engine.model.ModelConfigParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The checkpoint served when no model path is configured: a small Llama 3.1-architecture model with
 * random weights (its text is gibberish), in the exact Hugging Face layout of the real one, so the
 * whole service runs end to end on any machine.
 *
 * <p>Architecture: hidden 256, 4 layers, 8 query heads over 2 KV heads (GQA), head_dim 32, SwiGLU
 * 768, llama3 RoPE scaling (factor 8, bands 1/4, original 8192) with theta 500000 — at head_dim 32
 * RoPE pairs 0–7 are kept, pair 8 is interpolated and pairs 9–15 are divided by 8, so all three
 * bands are exercised — max_position_embeddings 131072, <b>tied</b> embeddings (no {@code lm_head.weight}),
 * vocabulary 1,280 (1,024 regular byte-level BPE tokens, then the 256 Llama 3.1 special tokens at
 * 1024..1279: other ids than the test fixture's, so hard-coded ids fail). bf16 weights in two shards
 * with {@code model.safetensors.index.json}, drawn from N(0, 0.02²) with a fixed seed (norm weights 1),
 * about 6.7 MB in all. The tokenizer files come from {@code src/main/resources/demo} (see the README there).
 *
 * <p>Written once into {@code cacheDir/}{@link #directoryName()}: the files go into a
 * temporary directory beside it, which is then renamed atomically, so the directory either does not
 * exist or is complete; two processes racing both write, one rename wins and the other reuses it.
 * A changed generator must bump {@link #GENERATOR_VERSION}, which names a new directory (changed
 * resources or dimensions change the name's fingerprint by themselves).
 */
public final class DemoCheckpoint {

    /** The model name the service reports for the demo checkpoint. */
    public static final String DEMO_SERVED_NAME = "llama-3.1-demo-random";
    /** Bump on any change to what is written: it is part of the directory name. */
    public static final int GENERATOR_VERSION = 1;
    /** Present in every demo model directory; {@link #isDemo(Path)} looks for it. */
    public static final String MARKER_FILE = "llama-serve-demo.json";

    static final long SEED = 0x11a3a_2024_0723L;
    static final int HIDDEN = 256;
    static final int LAYERS = 4;
    static final int HEADS = 8;
    static final int KV_HEADS = 2;
    static final int HEAD_DIM = HIDDEN / HEADS;
    static final int INTERMEDIATE = 768;
    static final double INIT_STD = 0.02;
    static final int MAX_POSITION_EMBEDDINGS = 131072;
    static final String SHARD_1 = "model-00001-of-00002.safetensors";
    static final String SHARD_2 = "model-00002-of-00002.safetensors";
    static final List<String> FILES = List.of("config.json", "generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "model.safetensors.index.json", SHARD_1, SHARD_2, MARKER_FILE);

    private static final Duration STALE_TEMP_AGE = Duration.ofMinutes(30);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Logger LOG = LoggerFactory.getLogger(DemoCheckpoint.class);

    private DemoCheckpoint() {
    }

    /**
     * The directory name under the cache directory, e.g. {@code llama-3.1-demo-random-v1-3f9a0c12}: the
     * generator version, then a fingerprint of the tokenizer resources and the model's dimensions and
     * seed, so that changing either writes a new directory even if the version was not bumped.
     */
    public static String directoryName() {
        return DIRECTORY_NAME;
    }

    private static final String DIRECTORY_NAME = DEMO_SERVED_NAME + "-v" + GENERATOR_VERSION + "-" + fingerprint();

    private static String fingerprint() {
        try {
            java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            sha.update(resource("tokenizer.json").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            sha.update(resource("tokenizer_config.json").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            sha.update(List.of(SEED, HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, INTERMEDIATE, INIT_STD,
                    MAX_POSITION_EMBEDDINGS).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(sha.digest(), 0, 4);
        } catch (IOException | java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("cannot fingerprint the demo checkpoint's resources", e);
        }
    }

    /** True if {@code modelDir} is a demo checkpoint written by this class (of any generator version). */
    public static boolean isDemo(Path modelDir) {
        return Files.isRegularFile(modelDir.resolve(MARKER_FILE));
    }

    /**
     * Returns the demo model directory under {@code cacheDir}, writing it first if it is absent or
     * incomplete.
     *
     * @throws CheckpointException if it cannot be written
     */
    public static Path writeIfAbsent(Path cacheDir) {
        Path target = cacheDir.resolve(directoryName());
        if (isComplete(target)) {
            return target;
        }
        try {
            Files.createDirectories(cacheDir);
            removeStaleTemporaries(cacheDir);
            if (Files.exists(target) && !isComplete(target)) {
                // Not written by a rename of ours, or damaged since: move it aside and write anew.
                Path aside = cacheDir.resolve(".stale-" + directoryName() + "-" + UUID.randomUUID());
                try {
                    Files.move(target, aside, StandardCopyOption.ATOMIC_MOVE);
                    deleteRecursively(aside);
                } catch (NoSuchFileException racedAway) {
                    // another process moved it first
                }
            }
            Path tmp = Files.createDirectory(cacheDir.resolve(".tmp-" + directoryName() + "-" + UUID.randomUUID()));
            try {
                long t0 = System.nanoTime();
                long bytes = writeInto(tmp);
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                    fsync(cacheDir);
                    LOG.info("wrote demo checkpoint " + DEMO_SERVED_NAME + " (random weights, "
                            + bytes + " bytes) to " + target + " in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
                } catch (FileSystemException e) {
                    // Lost a race (Linux: ENOTEMPTY or EEXIST): another writer's rename came first.
                    if (e instanceof AtomicMoveNotSupportedException) {
                        throw e;
                    }
                    if (!isComplete(target)) {
                        throw new CheckpointException(target + ": exists but is not a complete demo checkpoint ("
                                + e.getMessage() + "); delete it and restart", e);
                    }
                    LOG.info("another writer renamed its demo checkpoint into " + target
                            + " first; using that one");
                }
            } finally {
                deleteRecursively(tmp);
            }
        } catch (AtomicMoveNotSupportedException e) {
            throw new CheckpointException(cacheDir + ": the file system cannot rename directories atomically;"
                    + " set a model path or another cache directory", e);
        } catch (IOException | UncheckedIOException e) {
            throw new CheckpointException("cannot write the demo checkpoint under " + cacheDir + ": " + e.getMessage(), e);
        }
        return target;
    }

    private static boolean isComplete(Path dir) {
        for (String f : FILES) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                return false;
            }
        }
        return true;
    }

    /** Writes every file of the checkpoint into {@code dir}; returns the bytes written. */
    static long writeInto(Path dir) throws IOException {
        String tokenizerJson = resource("tokenizer.json");
        String tokenizerConfig = resource("tokenizer_config.json");
        Map<String, Integer> specials = new LinkedHashMap<>();
        JsonNode tokenizer = JSON.readTree(tokenizerJson);
        for (JsonNode t : tokenizer.get("added_tokens")) {
            specials.put(t.get("content").asString(), t.get("id").asInt());
        }
        int vocab = tokenizer.get("model").get("vocab").size() + specials.size();
        int bos = special(specials, "<|begin_of_text|>");
        List<Integer> eos = List.of(special(specials, "<|end_of_text|>"), special(specials, "<|eom_id|>"),
                special(specials, "<|eot_id|>"));

        long total = 0;
        total += writeFile(dir.resolve("tokenizer.json"), tokenizerJson);
        total += writeFile(dir.resolve("tokenizer_config.json"), tokenizerConfig);
        String config = configJson(vocab, bos, eos);
        ModelConfig parsed = ModelConfigParser.parse(JSON.readTree(config), "demo config.json");  // the generator's own check
        total += writeFile(dir.resolve("config.json"), config);
        total += writeFile(dir.resolve("generation_config.json"), generationConfigJson(bos, eos));
        total += writeWeights(dir, parsed);
        ObjectNode marker = JSON.createObjectNode();
        marker.put("served_name", DEMO_SERVED_NAME);
        marker.put("generator_version", GENERATOR_VERSION);
        marker.put("seed", SEED);
        marker.put("note", "random weights written by llama-serve: the model's text is gibberish");
        total += writeFile(dir.resolve(MARKER_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(marker));
        fsync(dir);
        return total;
    }

    private record Tensor(String name, long[] shape, boolean ones) {
        long elements() {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            return n;
        }
    }

    /** Tensors in the real checkpoint's order and names (tied embeddings, so no lm_head.weight); norms are ones. */
    static List<Tensor> tensors(ModelConfig config) {
        List<Tensor> t = new ArrayList<>();
        config.tensorShapes().forEach((name, shape) -> t.add(new Tensor(name, shape, shape.length == 1)));
        return t;
    }

    private static long writeWeights(Path dir, ModelConfig config) throws IOException {
        List<Tensor> all = tensors(config);
        long totalBytes = all.stream().mapToLong(x -> x.elements() * DType.BF16.bytes()).sum();
        SafetensorsWriter first = new SafetensorsWriter().metadata("format", "pt");
        SafetensorsWriter second = new SafetensorsWriter().metadata("format", "pt");
        ObjectNode weightMap = JSON.createObjectNode();
        long written = 0;
        for (Tensor x : all) {
            // Split like the real checkpoint: by size, wherever the first half ends (mid-layer).
            boolean inFirst = written < totalBytes / 2;
            (inFirst ? first : second).add(x.name(), DType.BF16, x.shape(),
                    out -> SafetensorsWriter.writeFloats(out, DType.BF16, values(x), 0, (int) x.elements()));
            weightMap.put(x.name(), inFirst ? SHARD_1 : SHARD_2);
            written += x.elements() * DType.BF16.bytes();
        }
        long bytes = first.write(dir.resolve(SHARD_1)) + second.write(dir.resolve(SHARD_2));
        fsync(dir.resolve(SHARD_1));
        fsync(dir.resolve(SHARD_2));
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", totalBytes);
        index.set("weight_map", weightMap);
        return bytes + writeFile(dir.resolve("model.safetensors.index.json"),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
    }

    /** A tensor's values: ones for norms, else N(0, INIT_STD²) from a seed of its own (order-independent). */
    private static float[] values(Tensor x) {
        float[] v = new float[(int) x.elements()];
        if (x.ones()) {
            java.util.Arrays.fill(v, 1.0f);
            return v;
        }
        Random r = new Random(SEED * 31 + x.name().hashCode());  // java.util.Random: a specified algorithm
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * INIT_STD);
        }
        return v;
    }

    private static String configJson(int vocab, int bos, List<Integer> eos) {
        ObjectNode c = JSON.createObjectNode();
        c.put("_name_or_path", DEMO_SERVED_NAME);
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("attention_bias", false);
        c.put("attention_dropout", 0.0);
        c.put("bos_token_id", bos);
        eos.forEach(c.putArray("eos_token_id")::add);
        c.put("hidden_act", "silu");
        c.put("hidden_size", HIDDEN);
        c.put("initializer_range", INIT_STD);
        c.put("intermediate_size", INTERMEDIATE);
        c.put("max_position_embeddings", MAX_POSITION_EMBEDDINGS);
        c.put("mlp_bias", false);
        c.put("model_type", "llama");
        c.put("num_attention_heads", HEADS);
        c.put("num_hidden_layers", LAYERS);
        c.put("num_key_value_heads", KV_HEADS);
        c.put("pretraining_tp", 1);
        c.put("rms_norm_eps", 1e-5);
        c.putObject("rope_scaling").put("factor", 8.0).put("low_freq_factor", 1.0).put("high_freq_factor", 4.0)
                .put("original_max_position_embeddings", 8192).put("rope_type", "llama3");
        c.put("rope_theta", 500000.0);
        c.put("tie_word_embeddings", true);
        c.put("torch_dtype", "bfloat16");
        c.put("transformers_version", "4.43.0");
        c.put("use_cache", true);
        c.put("vocab_size", vocab);
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(c);
    }

    private static String generationConfigJson(int bos, List<Integer> eos) {
        ObjectNode g = JSON.createObjectNode();
        g.put("bos_token_id", bos);
        g.put("do_sample", true);
        eos.forEach(g.putArray("eos_token_id")::add);
        g.put("temperature", 0.6);
        g.put("top_p", 0.9);
        g.put("transformers_version", "4.43.0");
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(g);
    }

    private static int special(Map<String, Integer> specials, String text) {
        Integer id = specials.get(text);
        if (id == null) {
            throw new IllegalStateException("demo/tokenizer.json lacks the special token " + text);
        }
        return id;
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = DemoCheckpoint.class.getResourceAsStream("/demo/" + name)) {
            if (in == null) {
                throw new IllegalStateException("resource /demo/" + name + " is missing from the class path");
            }
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    private static long writeFile(Path file, String text) throws IOException {
        byte[] b = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Files.write(file, b);
        fsync(file);
        return b.length;
    }

    /** Flushes a file or directory to disk, so a renamed directory is complete after a crash too. */
    private static void fsync(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            if (!Files.isDirectory(p)) {
                throw e;   // some file systems cannot fsync a directory: that is not fatal
            }
        }
    }

    /** Deletes temporary directories of writers that died (older than 30 minutes; writing takes about a second). */
    private static void removeStaleTemporaries(Path cacheDir) throws IOException {
        Instant limit = Instant.now().minus(STALE_TEMP_AGE);
        try (Stream<Path> s = Files.list(cacheDir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if ((n.startsWith(".tmp-" + DEMO_SERVED_NAME) || n.startsWith(".stale-" + DEMO_SERVED_NAME))
                        && lastModified(p).toInstant().isBefore(limit)) {
                    deleteRecursively(p);
                }
            }
        }
    }

    private static FileTime lastModified(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            return FileTime.from(Instant.now());
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (NoSuchFileException gone) {
            // removed concurrently
        }
    }
}
