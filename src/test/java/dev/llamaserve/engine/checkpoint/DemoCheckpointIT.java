package dev.llamaserve.engine.checkpoint;

import static dev.llamaserve.engine.model.TinyFixture.fixture;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.llamaserve.engine.model.ForwardBatch;
import dev.llamaserve.engine.model.GenerationConfig;
import dev.llamaserve.engine.model.GenerationConfigParser;
import dev.llamaserve.engine.model.LlamaModel;
import dev.llamaserve.engine.model.LoadListener;
import dev.llamaserve.engine.model.ModelConfig;
import dev.llamaserve.engine.model.ModelConfigParser;
import dev.llamaserve.engine.model.ModelOptions;
import dev.llamaserve.engine.model.RopeScaling;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class DemoCheckpointIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** One tensor of a safetensors header, read by the small parser below (not the production reader). */
    record HeaderEntry(String dtype, long[] shape, long begin, long end) {}

    /** A test-local safetensors reader: 8-byte LE header length, JSON header, data; checks the offsets tile the data. */
    static Map<String, HeaderEntry> readHeader(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        long headerLen = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(headerLen).isBetween(2L, (long) all.length - 8);
        JsonNode header = JSON.readTree(new String(all, 8, (int) headerLen, StandardCharsets.UTF_8));
        long dataLen = all.length - 8 - headerLen;
        Map<String, HeaderEntry> entries = new LinkedHashMap<>();
        List<long[]> ranges = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : header.properties()) {
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode v = e.getValue();
            long[] shape = new long[v.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = v.get("shape").get(i).asLong();
            }
            long begin = v.get("data_offsets").get(0).asLong();
            long end = v.get("data_offsets").get(1).asLong();
            long elements = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            assertThat(end - begin).as(e.getKey() + " byte size").isEqualTo(elements * 2);
            entries.put(e.getKey(), new HeaderEntry(v.get("dtype").asString(), shape, begin, end));
            ranges.add(new long[] {begin, end});
        }
        ranges.sort((a, b) -> Long.compare(a[0], b[0]));
        long at = 0;
        for (long[] r : ranges) {
            assertThat(r[0]).as("tensors tile the data without gaps").isEqualTo(at);
            at = r[1];
        }
        assertThat(at).as("data length of " + file.getFileName()).isEqualTo(dataLen);
        return entries;
    }

    static float[] readBf16(Path file, HeaderEntry e) throws IOException {
        byte[] all = Files.readAllBytes(file);
        long headerLen = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ByteBuffer data = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int base = (int) (8 + headerLen + e.begin());
        float[] v = new float[(int) ((e.end() - e.begin()) / 2)];
        for (int i = 0; i < v.length; i++) {
            v[i] = Float.intBitsToFloat((data.getShort(base + 2 * i) & 0xFFFF) << 16);
        }
        return v;
    }

    static Map<String, Integer> specialIds(Path tokenizerJson) throws IOException {
        Map<String, Integer> ids = new HashMap<>();
        for (JsonNode t : JSON.readTree(tokenizerJson.toFile()).get("added_tokens")) {
            ids.put(t.get("content").asString(), t.get("id").asInt());
        }
        return ids;
    }

    @Test
    void writesACompleteLlama31CheckpointThatRoundTrips(@TempDir Path cache) throws IOException {
        long t0 = System.nanoTime();
        Path dir = DemoCheckpoint.writeIfAbsent(cache);
        long ms = (System.nanoTime() - t0) / 1_000_000;

        assertThat(dir.getParent()).isEqualTo(cache);
        assertThat(dir.getFileName().toString())
                .matches("llama-3\\.1-demo-random-v" + DemoCheckpoint.GENERATOR_VERSION + "-[0-9a-f]{8}");
        assertThat(DemoCheckpoint.isDemo(dir)).isTrue();
        assertThat(DemoCheckpoint.isDemo(fixture("tiny-llama31"))).isFalse();
        JsonNode marker = JSON.readTree(dir.resolve(DemoCheckpoint.MARKER_FILE).toFile());
        assertThat(marker.get("served_name").asString()).isEqualTo(DemoCheckpoint.DEMO_SERVED_NAME)
                .isEqualTo("llama-3.1-demo-random");

        ModelConfig c = ModelConfigParser.parse(dir.resolve("config.json"));
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.numAttentionHeads()).isEqualTo(8);
        assertThat(c.numKeyValueHeads()).isEqualTo(2);
        assertThat(c.numHiddenLayers()).isBetween(2, 4);
        assertThat(c.hiddenSize()).isBetween(128, 256);
        assertThat(c.maxPositionEmbeddings()).isEqualTo(131072);
        assertThat(c.ropeScaling()).isEqualTo(new RopeScaling(RopeScaling.Kind.LLAMA3, 8.0, 1.0, 4.0, 8192));
        assertThat(c.vocabSize()).isEqualTo(1280);
        assertRopeBandsAllExercised(c);

        // Index: same layout and names as the real checkpoint, no lm_head (tied), two shards.
        JsonNode index = JSON.readTree(dir.resolve("model.safetensors.index.json").toFile());
        Map<String, String> weightMap = new LinkedHashMap<>();
        index.get("weight_map").properties().forEach(e -> weightMap.put(e.getKey(), e.getValue().asString()));
        assertThat(weightMap).doesNotContainKey("lm_head.weight");
        assertThat(new HashSet<>(weightMap.values()))
                .containsExactlyInAnyOrder("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors");
        Set<String> expected = new HashSet<>(List.of("model.embed_tokens.weight", "model.norm.weight"));
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            for (String t : List.of("input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                    "self_attn.o_proj", "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")) {
                expected.add("model.layers." + l + "." + t + ".weight");
            }
        }
        assertThat(weightMap.keySet()).isEqualTo(expected);

        // Shards: headers parse, every tensor is bf16 in the file the index names, with the config's shapes.
        Map<String, HeaderEntry> tensors = new HashMap<>();
        Map<String, Path> fileOf = new HashMap<>();
        long tensorBytes = 0;
        for (String shard : new HashSet<>(weightMap.values())) {
            Map<String, HeaderEntry> h = readHeader(dir.resolve(shard));
            assertThat(h).isNotEmpty();
            for (Map.Entry<String, HeaderEntry> e : h.entrySet()) {
                assertThat(weightMap.get(e.getKey())).as(e.getKey()).isEqualTo(shard);
                assertThat(e.getValue().dtype()).isEqualTo("BF16");
                fileOf.put(e.getKey(), dir.resolve(shard));
                tensorBytes += e.getValue().end() - e.getValue().begin();
            }
            tensors.putAll(h);
        }
        assertThat(tensors.keySet()).isEqualTo(expected);
        assertThat(index.get("metadata").get("total_size").asLong()).isEqualTo(tensorBytes);
        assertThat(tensorBytes).isEqualTo(c.parameterCount() * 2);
        int h = c.hiddenSize();
        int q = c.numAttentionHeads() * c.headDim();
        int kv = c.numKeyValueHeads() * c.headDim();
        assertThat(tensors.get("model.embed_tokens.weight").shape()).containsExactly(c.vocabSize(), h);
        assertThat(tensors.get("model.layers.0.self_attn.q_proj.weight").shape()).containsExactly(q, h);
        assertThat(tensors.get("model.layers.0.self_attn.k_proj.weight").shape()).containsExactly(kv, h);
        assertThat(tensors.get("model.layers.0.self_attn.o_proj.weight").shape()).containsExactly(h, q);
        assertThat(tensors.get("model.layers.0.mlp.down_proj.weight").shape()).containsExactly(h, c.intermediateSize());
        assertThat(tensors.get("model.norm.weight").shape()).containsExactly(h);

        // Weights: N(0, 0.02²) for matrices, ones for norms.
        float[] embed = readBf16(fileOf.get("model.embed_tokens.weight"), tensors.get("model.embed_tokens.weight"));
        double mean = 0;
        double sq = 0;
        for (float v : embed) {
            mean += v;
            sq += (double) v * v;
        }
        mean /= embed.length;
        double std = Math.sqrt(sq / embed.length - mean * mean);
        assertThat(std).isBetween(0.019, 0.021);
        assertThat(Math.abs(mean)).isLessThan(0.001);
        float[] norm = readBf16(fileOf.get("model.norm.weight"), tensors.get("model.norm.weight"));
        for (float v : norm) {
            assertThat(v).isEqualTo(1.0f);
        }

        long size;
        try (Stream<Path> files = Files.list(dir)) {
            size = files.mapToLong(p -> p.toFile().length()).sum();
        }
        assertThat(size).isLessThanOrEqualTo(10_000_000L);
        try (Stream<Path> left = Files.list(cache)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactly(DemoCheckpoint.directoryName());
        }
        System.out.printf("demo checkpoint: %d bytes in %d files, written in %d ms%n", size, DemoCheckpoint.FILES.size(), ms);
    }

    private static void assertRopeBandsAllExercised(ModelConfig c) {
        double[] scaled = c.ropeScaling().inverseFrequencies(c.ropeTheta(), c.headDim());
        double[] plain = RopeScaling.NONE.inverseFrequencies(c.ropeTheta(), c.headDim());
        int kept = 0;
        int divided = 0;
        int between = 0;
        for (int i = 0; i < plain.length; i++) {
            if (scaled[i] == plain[i]) {
                kept++;
            } else if (Math.abs(scaled[i] - plain[i] / 8) < 1e-15 * plain[i]) {
                divided++;
            } else {
                between++;
            }
        }
        assertThat(kept).isPositive();
        assertThat(divided).isPositive();
        assertThat(between).isPositive();
    }

    /** The demo goes through exactly the reader and forward pass a real checkpoint goes through, tied lm_head included. */
    @Test
    void loadsThroughTheRealReaderAndForwardPass(@TempDir Path cache) {
        Path dir = DemoCheckpoint.writeIfAbsent(cache);
        Checkpoint checkpoint = Checkpoint.open(dir);
        assertThat(checkpoint.shards()).hasSize(2);
        assertThat(checkpoint.tensors()).doesNotContainKey("lm_head.weight").containsKey("model.embed_tokens.weight");
        assertThat(checkpoint.tensors().values()).allSatisfy(t -> assertThat(t.dtype()).isEqualTo(DType.BF16));
        ModelConfig c = checkpoint.config();
        try (LlamaModel model = LlamaModel.load(checkpoint, new ModelOptions("cpu", "float32", 64, 64),
                LoadListener.NONE)) {
            float[] logits = model.forward(ForwardBatch.contiguous(new int[] {1024, 72, 101, 108}, 0, true));
            assertThat(logits).hasSize(4 * c.vocabSize());
            for (float v : logits) {
                assertThat(Float.isFinite(v)).isTrue();
            }
            // Tied embeddings: the last row equals final-norm(hidden) · embed_tokensᵀ, so rows differ per position.
            float spread = 0;
            for (int i = 0; i < c.vocabSize(); i++) {
                spread = Math.max(spread, Math.abs(logits[3 * c.vocabSize() + i] - logits[2 * c.vocabSize() + i]));
            }
            assertThat(spread).isGreaterThan(0f);
        }
    }

    @Test
    void secondCallReusesTheCheckpoint(@TempDir Path cache) throws IOException {
        Path dir = DemoCheckpoint.writeIfAbsent(cache);
        Path shard = dir.resolve("model-00001-of-00002.safetensors");
        Object inode = Files.readAttributes(shard, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        var mtime = Files.getLastModifiedTime(shard);
        Path again = DemoCheckpoint.writeIfAbsent(cache);
        assertThat(again).isEqualTo(dir);
        assertThat(Files.readAttributes(shard, java.nio.file.attribute.BasicFileAttributes.class).fileKey())
                .isEqualTo(inode);
        assertThat(Files.getLastModifiedTime(shard)).isEqualTo(mtime);
    }

    @Test
    void generationIsDeterministic(@TempDir Path a, @TempDir Path b) throws IOException {
        Path da = DemoCheckpoint.writeIfAbsent(a);
        Path db = DemoCheckpoint.writeIfAbsent(b);
        for (String f : DemoCheckpoint.FILES) {
            assertThat(Files.readAllBytes(da.resolve(f))).as(f).isEqualTo(Files.readAllBytes(db.resolve(f)));
        }
    }

    @Test
    void anIncompleteDirectoryIsWrittenAnew(@TempDir Path cache) throws IOException {
        Path dir = DemoCheckpoint.writeIfAbsent(cache);
        byte[] shard2 = Files.readAllBytes(dir.resolve("model-00002-of-00002.safetensors"));
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        Path again = DemoCheckpoint.writeIfAbsent(cache);
        assertThat(again).isEqualTo(dir);
        assertThat(Files.readAllBytes(dir.resolve("model-00002-of-00002.safetensors"))).isEqualTo(shard2);
        try (Stream<Path> left = Files.list(cache)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactly(DemoCheckpoint.directoryName());
        }
    }

    @Test
    void staleTemporariesOfDeadWritersAreRemovedButFreshOnesKept(@TempDir Path cache) throws IOException {
        Path stale = Files.createDirectories(cache.resolve(".tmp-" + DemoCheckpoint.directoryName() + "-dead"));
        Files.writeString(stale.resolve("config.json"), "{}");
        Files.setLastModifiedTime(stale, java.nio.file.attribute.FileTime.from(
                java.time.Instant.now().minus(java.time.Duration.ofHours(2))));
        Path fresh = Files.createDirectories(cache.resolve(".tmp-" + DemoCheckpoint.directoryName() + "-busy"));
        Path other = Files.createDirectories(cache.resolve("some-other-model"));
        DemoCheckpoint.writeIfAbsent(cache);
        assertThat(stale).doesNotExist();
        assertThat(fresh).isDirectory();
        assertThat(other).isDirectory();
    }

    @Test
    void concurrentWritersAgreeOnOneCompleteDirectory(@TempDir Path cache) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Path>> results = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                results.add(pool.submit((Callable<Path>) () -> DemoCheckpoint.writeIfAbsent(cache)));
            }
            Set<Path> dirs = new HashSet<>();
            for (Future<Path> f : results) {
                dirs.add(f.get());
            }
            assertThat(dirs).hasSize(1);
            Path dir = dirs.iterator().next();
            for (String f : DemoCheckpoint.FILES) {
                assertThat(dir.resolve(f)).isRegularFile();
            }
            readHeader(dir.resolve("model-00001-of-00002.safetensors"));
            readHeader(dir.resolve("model-00002-of-00002.safetensors"));
            try (Stream<Path> left = Files.list(cache)) {
                assertThat(left.map(p -> p.getFileName().toString())).containsExactly(DemoCheckpoint.directoryName());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Entry point of the racing processes below. */
    public static final class WriterProcess {
        public static void main(String[] args) {
            System.out.println("DIR=" + DemoCheckpoint.writeIfAbsent(Path.of(args[0])));
        }
    }

    @Test
    void twoProcessesRacingAgreeOnOneCompleteDirectory(@TempDir Path cache) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<Process> procs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            procs.add(new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    WriterProcess.class.getName(), cache.toString()).redirectErrorStream(true).start());
        }
        Set<String> dirs = new HashSet<>();
        long wrote = 0;
        long lost = 0;
        for (Process p : procs) {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor()).as(out).isZero();
            out.lines().filter(l -> l.startsWith("DIR=")).forEach(dirs::add);
            wrote += out.lines().filter(l -> l.contains("wrote demo checkpoint")).count();
            lost += out.lines().filter(l -> l.contains("another writer renamed")).count();
        }
        // Both usually write (and one rename wins); which happened is reported, not asserted.
        System.out.println("racing processes that wrote a complete copy: " + wrote + ", of which lost the rename: "
                + lost);
        assertThat(dirs).containsExactly("DIR=" + cache.resolve(DemoCheckpoint.directoryName()));
        Path dir = cache.resolve(DemoCheckpoint.directoryName());
        readHeader(dir.resolve("model-00001-of-00002.safetensors"));
        readHeader(dir.resolve("model-00002-of-00002.safetensors"));
        ModelConfigParser.parse(dir.resolve("config.json"));
        try (Stream<Path> left = Files.list(cache)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactly(DemoCheckpoint.directoryName());
        }
    }

    @Test
    void specialTokenIdsDifferFromTheFixtureAndMatchTheConfigs(@TempDir Path cache) throws IOException {
        Path dir = DemoCheckpoint.writeIfAbsent(cache);
        Map<String, Integer> demo = specialIds(dir.resolve("tokenizer.json"));
        Map<String, Integer> tiny = specialIds(fixture("tiny-llama31/tokenizer.json"));
        assertThat(demo).hasSize(256);
        assertThat(demo.keySet()).isEqualTo(tiny.keySet());
        for (String s : demo.keySet()) {
            assertThat(demo.get(s)).as(s).isNotEqualTo(tiny.get(s));
        }
        // Same order as Llama 3.1 (offset from <|begin_of_text|>), at another base id.
        int base = demo.get("<|begin_of_text|>");
        for (String s : demo.keySet()) {
            assertThat(demo.get(s) - base).as(s).isEqualTo(tiny.get(s) - tiny.get("<|begin_of_text|>"));
        }

        List<Integer> eos = List.of(demo.get("<|end_of_text|>"), demo.get("<|eom_id|>"), demo.get("<|eot_id|>"));
        GenerationConfig g = GenerationConfigParser.read(dir);
        assertThat(g.eosTokenIds()).isEqualTo(eos);
        assertThat(g.bosTokenId()).isEqualTo(demo.get("<|begin_of_text|>"));
        assertThat(g.temperature()).isEqualTo(0.6);
        assertThat(g.topP()).isEqualTo(0.9);
        ModelConfig c = ModelConfigParser.parse(dir.resolve("config.json"));
        assertThat(c.eosTokenIds()).isEqualTo(eos);
        assertThat(c.bosTokenId()).isEqualTo(demo.get("<|begin_of_text|>"));
        assertThat(demo.values()).allSatisfy(id -> assertThat(id).isLessThan(c.vocabSize()));
    }

    @Test
    void tokenizerConfigCarriesTheOfficialChatTemplateAndTheSameSpecialIds(@TempDir Path cache) throws IOException {
        Path dir = DemoCheckpoint.writeIfAbsent(cache);
        JsonNode demo = JSON.readTree(dir.resolve("tokenizer_config.json").toFile());
        JsonNode tiny = JSON.readTree(fixture("tiny-llama31/tokenizer_config.json").toFile());
        assertThat(demo.get("chat_template").asString()).isEqualTo(tiny.get("chat_template").asString());
        assertThat(demo.get("eos_token").asString()).isEqualTo("<|eot_id|>");
        assertThat(demo.get("bos_token").asString()).isEqualTo("<|begin_of_text|>");
        Map<String, Integer> ids = specialIds(dir.resolve("tokenizer.json"));
        Map<String, Integer> decoder = new HashMap<>();
        demo.get("added_tokens_decoder").properties()
                .forEach(e -> decoder.put(e.getValue().get("content").asString(), Integer.parseInt(e.getKey())));
        assertThat(decoder).isEqualTo(ids);
    }

    @Test
    void tokenizerLoadsInDjlAndRoundTripsTextAndSpecialTokens(@TempDir Path cache) throws IOException {
        Path dir = DemoCheckpoint.writeIfAbsent(cache);
        Map<String, Integer> ids = specialIds(dir.resolve("tokenizer.json"));
        int vocab = ModelConfigParser.parse(dir.resolve("config.json")).vocabSize();
        try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.newInstance(dir.resolve("tokenizer.json"))) {
            String text = "The License permits copying, modifying and distributing the work. Héllo 12345 — ok?";
            Encoding plain = tok.encode(text, false, false);
            long[] plainIds = plain.getIds();
            assertThat(plainIds.length).isLessThan(text.getBytes(StandardCharsets.UTF_8).length / 2);
            assertThat(Arrays.stream(plainIds).max().getAsLong()).isLessThan(ids.get("<|begin_of_text|>"));
            assertThat(Arrays.stream(plainIds).min().getAsLong()).isNotNegative();
            assertThat(tok.decode(plainIds, false)).isEqualTo(text);

            Encoding withBos = tok.encode(text);
            assertThat(withBos.getIds()[0]).isEqualTo((long) ids.get("<|begin_of_text|>"));

            String chat = "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                    + "<|start_header_id|>assistant<|end_header_id|>\n\n";
            long[] chatIds = tok.encode(chat, false, false).getIds();
            assertThat(chatIds[0]).isEqualTo((long) ids.get("<|start_header_id|>"));
            assertThat(chatIds).contains((long) ids.get("<|end_header_id|>"), (long) ids.get("<|eot_id|>"));
            assertThat(Arrays.stream(chatIds).filter(i -> i == ids.get("<|start_header_id|>")).count()).isEqualTo(2);
            assertThat(Arrays.stream(chatIds).max().getAsLong()).isLessThan(vocab);
            assertThat(tok.decode(chatIds, false)).isEqualTo(chat);
            assertThat(tok.decode(chatIds, true)).isEqualTo("user\n\nHi thereassistant\n\n");
        }
        // The fixture's tokenizer gives the same special text other ids.
        try (HuggingFaceTokenizer tiny = HuggingFaceTokenizer.newInstance(fixture("tiny-llama31/tokenizer.json"))) {
            long[] tinyIds = tiny.encode("<|eot_id|>", false, false).getIds();
            assertThat(tinyIds).containsExactly(521L);
            assertThat(ids.get("<|eot_id|>")).isNotEqualTo(521);
        }
    }
}
