package dev.llamaserve.engine.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.llamaserve.engine.model.ModelConfig;
import dev.llamaserve.engine.model.ModelConfigParser;
import dev.llamaserve.engine.model.TinyFixture;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

class CheckpointTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String SHARD1 = "model-00001-of-00002.safetensors";
    private static final String SHARD2 = "model-00002-of-00002.safetensors";
    private static final String INDEX = "model.safetensors.index.json";

    @TempDir
    Path tmp;

    // ---------------------------------------------------------------- the fixture

    @Test
    void fixtureOpensWithEveryTensorOfTheConfigInLoadOrder() {
        Checkpoint ck = Checkpoint.open(TinyFixture.dir());
        ModelConfig c = ck.config();
        assertThat(c.numHiddenLayers()).isEqualTo(2);
        assertThat(ck.shards()).extracting(p -> p.getFileName().toString()).containsExactly(SHARD1, SHARD2);
        assertThat(ck.tensors()).hasSize(1 + 2 * 9 + 2);
        assertThat(List.copyOf(ck.tensors().keySet())).containsExactlyElementsOf(c.tensorShapes().keySet());
        assertThat(ck.tensors().keySet()).contains("model.embed_tokens.weight", "model.layers.1.mlp.down_proj.weight",
                "model.norm.weight", "lm_head.weight");
        TensorInfo k = ck.tensor("model.layers.0.self_attn.k_proj.weight");
        assertThat(k.dtype()).isEqualTo(DType.BF16);
        assertThat(k.shape()).containsExactly(2 * 16, 64);            // num_key_value_heads * head_dim, hidden
        assertThat(k.byteLength()).isEqualTo(32L * 64 * 2);
        assertThat(ck.tensor("lm_head.weight").file().getFileName().toString()).isEqualTo(SHARD2);
        assertThat(ck.totalBytes()).isEqualTo(393856);                // index metadata total_size
    }

    @Test
    void mapReturnsTheTensorsBytesLittleEndian() throws IOException {
        Checkpoint ck = Checkpoint.open(TinyFixture.dir());
        TensorInfo norm = ck.tensor("model.norm.weight");
        ByteBuffer mapped = Checkpoint.map(norm);
        assertThat(mapped.order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
        assertThat(mapped.remaining()).isEqualTo(64 * 2);
        byte[] file = Files.readAllBytes(norm.file());
        byte[] expected = Arrays.copyOfRange(file, (int) norm.offset(), (int) (norm.offset() + norm.byteLength()));
        byte[] actual = new byte[mapped.remaining()];
        mapped.get(actual);
        assertThat(actual).isEqualTo(expected);
        float first = DType.fromBf16(ByteBuffer.wrap(expected).order(ByteOrder.LITTLE_ENDIAN).getShort(0));
        assertThat(Float.isFinite(first)).isTrue();
    }

    @Test
    void unmapReleasesTheMappingAtOnceAndLeavesOtherBuffersAlone() throws IOException {
        Path maps = Path.of("/proc/self/maps");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(maps), "needs Linux's /proc/self/maps");
        TensorInfo lmHead = Checkpoint.open(TinyFixture.dir()).tensor("lm_head.weight");   // in the second shard
        List<String> before = mappingsOf(maps, lmHead.file());
        ByteBuffer mapped = Checkpoint.map(lmHead);
        List<String> during = mappingsOf(maps, lmHead.file());
        assertThat(during).as("the tensor's mapping").anyMatch(l -> !before.contains(l));
        Checkpoint.unmap(mapped);
        assertThat(mappingsOf(maps, lmHead.file())).as("after unmap").isSubsetOf(before);
        ByteBuffer heap = ByteBuffer.allocate(16);
        Checkpoint.unmap(heap);                                   // not a mapping: nothing happens
        Checkpoint.unmap(ByteBuffer.allocateDirect(16).slice());  // a slice the JDK refuses: left to the collector
        assertThat(heap.putInt(0, 7).getInt(0)).isEqualTo(7);
    }

    private static List<String> mappingsOf(Path maps, Path file) throws IOException {
        return Files.readAllLines(maps).stream().filter(l -> l.endsWith(file.toString())).toList();
    }

    @Test
    void singleFileCheckpointOpens() throws IOException {
        Path dir = singleFile(tmp.resolve("single"), null, null);
        Checkpoint ck = Checkpoint.open(dir);
        assertThat(ck.shards()).hasSize(1);
        assertThat(ck.tensors()).hasSize(21);
    }

    // ---------------------------------------------------------------- header corruption

    @Test
    void fileShorterThanTheHeaderLength() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        Files.write(dir.resolve(SHARD2), new byte[] {1, 2, 3});
        assertFails(dir, SHARD2, "truncated");
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        byte[] b = Files.readAllBytes(dir.resolve(SHARD1));
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, b.length);   // header "longer" than the file
        Files.write(dir.resolve(SHARD1), b);
        assertFails(dir, SHARD1, "header length");
    }

    @Test
    void truncatedData() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        byte[] b = Files.readAllBytes(dir.resolve(SHARD2));
        Files.write(dir.resolve(SHARD2), Arrays.copyOf(b, b.length - 10));
        assertFails(dir, SHARD2, "lm_head.weight", "out of bounds");
    }

    @Test
    void dataOffsetsOutOfBounds() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        rewriteHeader(dir.resolve(SHARD1), h -> {
            ArrayNode off = (ArrayNode) h.get("model.embed_tokens.weight").get("data_offsets");
            off.set(0, 10_000_000L);
            off.set(1, 10_098_304L);
        });
        assertFails(dir, SHARD1, "model.embed_tokens.weight", "out of bounds");
    }

    @Test
    void overlappingTensorData() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        rewriteHeader(dir.resolve(SHARD1), h -> {
            // input_layernorm (128 bytes) moved to start inside embed_tokens' bytes
            ArrayNode off = (ArrayNode) h.get("model.layers.0.input_layernorm.weight").get("data_offsets");
            off.set(0, 64L);
            off.set(1, 192L);
        });
        assertFails(dir, SHARD1, "model.layers.0.input_layernorm.weight", "overlaps", "model.embed_tokens.weight");
    }

    @Test
    void unknownDtype() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        rewriteHeader(dir.resolve(SHARD1), h -> ((ObjectNode) h.get("model.layers.0.input_layernorm.weight")).put("dtype", "I8"));
        assertFails(dir, SHARD1, "model.layers.0.input_layernorm.weight", "unknown dtype", "I8");
    }

    @Test
    void bytesDoNotMatchTheShape() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        rewriteHeader(dir.resolve(SHARD1), h -> {
            ArrayNode shape = (ArrayNode) h.get("model.embed_tokens.weight").get("shape");
            shape.set(0, 700L);                        // 700*64*2 != 98304 bytes
        });
        assertFails(dir, SHARD1, "model.embed_tokens.weight", "98304 data bytes", "needs 89600");
    }

    @Test
    void headerIsNotJson() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        byte[] b = Files.readAllBytes(dir.resolve(SHARD1));
        b[8] = 'x';
        Files.write(dir.resolve(SHARD1), b);
        assertFails(dir, SHARD1, "not valid JSON");
    }

    // ---------------------------------------------------------------- tensors vs. config

    @Test
    void missingTensor() throws IOException {
        Path dir = singleFile(tmp.resolve("m"), "model.layers.1.mlp.up_proj.weight", null);
        assertFails(dir, "model.layers.1.mlp.up_proj.weight", "missing");
    }

    @Test
    void unexpectedTensor() throws IOException {
        Path dir = singleFile(tmp.resolve("m"), null, "model.layers.2.mlp.up_proj.weight");
        assertFails(dir, "model.safetensors", "unexpected tensor 'model.layers.2.mlp.up_proj.weight'");
    }

    /** Some exports of tied models keep lm_head.weight: transformers and vLLM tie and skip it, and so does this. */
    @Test
    void anLmHeadBesideTiedEmbeddingsIsNotRead() throws IOException {
        Path dir = singleFile(tmp.resolve("m"), null, null);
        String cfg = Files.readString(dir.resolve("config.json")).replace("\"tie_word_embeddings\": false",
                "\"tie_word_embeddings\": true");
        Files.writeString(dir.resolve("config.json"), cfg);
        Checkpoint c = Checkpoint.open(dir);
        assertThat(c.config().tieWordEmbeddings()).isTrue();
        assertThat(c.tensors()).doesNotContainKey("lm_head.weight").containsKey("model.embed_tokens.weight");
    }

    @Test
    void shapeThatDisagreesWithTheConfig() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        rewriteHeader(dir.resolve(SHARD1), h -> {
            ArrayNode shape = (ArrayNode) h.get("model.layers.0.self_attn.k_proj.weight").get("shape");
            shape.set(0, 64L);                          // [64, 32] instead of [32, 64]: same bytes, wrong shape
            shape.set(1, 32L);
        });
        assertFails(dir, SHARD1, "model.layers.0.self_attn.k_proj.weight", "[64, 32]", "[32, 64]");
    }

    @Test
    void noWeightsAtAll() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("m"));
        copyConfig(dir);
        assertFails(dir, "neither model.safetensors nor " + INDEX);
    }

    // ---------------------------------------------------------------- the index

    @Test
    void indexShardOutsideTheDirectory() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        Files.copy(dir.resolve(SHARD2), tmp.resolve("outside.safetensors"));
        editIndex(dir, wm -> wm.put("lm_head.weight", "../outside.safetensors"));
        assertFails(dir, INDEX, "lm_head.weight", "leaves the model directory");
    }

    @Test
    void indexShardInASubdirectoryIsRefused() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        Files.createDirectories(dir.resolve("sub"));
        Files.copy(dir.resolve(SHARD2), dir.resolve("sub/x.safetensors"));
        editIndex(dir, wm -> wm.put("lm_head.weight", "sub/../../m/" + SHARD2 + "/../sub/x.safetensors"));
        assertFails(dir, INDEX, "lm_head.weight", "leaves the model directory");
    }

    @Test
    void indexShardWithAnAbsolutePath() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        editIndex(dir, wm -> wm.put("lm_head.weight", dir.resolve(SHARD2).toAbsolutePath().toString()));
        assertFails(dir, INDEX, "lm_head.weight", "inside the model directory");
    }

    /**
     * The Hugging Face cache's layout (`huggingface-cli download` without --local-dir): every file of
     * snapshots/<rev>/ is a link to ../../blobs/<sha>. A sharded checkpoint there loads, as a single-file one did.
     */
    @Test
    void shardsLinkedIntoTheHuggingFaceCacheLoad() throws IOException {
        Path source = TinyFixture.copyTo(tmp.resolve("source"));
        Path snapshot = Files.createDirectories(tmp.resolve("models--x/snapshots/0123abc"));
        Path blobs = Files.createDirectories(tmp.resolve("models--x/blobs"));
        try (var files = Files.list(source)) {
            for (Path f : files.toList()) {
                Path blob = Files.copy(f, blobs.resolve("sha-" + f.getFileName()));
                Files.createSymbolicLink(snapshot.resolve(f.getFileName()),
                        Path.of("../../blobs").resolve(blob.getFileName()));
            }
        }
        assertThat(Checkpoint.open(snapshot).tensors()).hasSize(21);
    }

    @Test
    void aShardLinkThatLeadsToNoFileIsRefused() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        Files.delete(dir.resolve(SHARD2));
        Files.createSymbolicLink(dir.resolve(SHARD2), tmp.resolve("gone.safetensors"));
        assertFails(dir, INDEX, SHARD2, "does not exist");
    }

    @Test
    void symlinkInsideTheDirectoryIsFine() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        Files.move(dir.resolve(SHARD2), dir.resolve("real.bin"));
        Files.createSymbolicLink(dir.resolve(SHARD2), dir.resolve("real.bin"));
        assertThat(Checkpoint.open(dir).tensors()).hasSize(21);
    }

    @Test
    void indexNamesAShardThatDoesNotExist() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        editIndex(dir, wm -> wm.put("lm_head.weight", "model-00003-of-00002.safetensors"));
        assertFails(dir, INDEX, "lm_head.weight", "model-00003-of-00002.safetensors", "does not exist");
    }

    @Test
    void indexNamesTheWrongShardForATensor() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        editIndex(dir, wm -> wm.put("lm_head.weight", SHARD1));
        assertFails(dir, INDEX, "lm_head.weight", SHARD1, "does not contain it");
    }

    @Test
    void shardTensorNotListedInTheIndex() throws IOException {
        Path dir = TinyFixture.copyTo(tmp.resolve("m"));
        editIndex(dir, wm -> wm.remove("model.norm.weight"));
        assertFails(dir, "model.norm.weight", "not listed in");
    }

    // ---------------------------------------------------------------- helpers

    private static void assertFails(Path dir, String... fragments) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(dir));
        assertThat(e.getMessage()).contains(fragments);
    }

    private static void copyConfig(Path dir) throws IOException {
        try (InputStream in = CheckpointTest.class.getClassLoader().getResourceAsStream(TinyFixture.DIR + "config.json")) {
            Files.copy(in, dir.resolve("config.json"));
        }
    }

    /** A single-file checkpoint of the tiny config written with SafetensorsWriter, minus {@code drop}, plus {@code extra}. */
    private static Path singleFile(Path dir, String drop, String extra) throws IOException {
        Files.createDirectories(dir);
        copyConfig(dir);
        ModelConfig c = ModelConfigParser.parse(dir.resolve("config.json"));
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        for (Map.Entry<String, long[]> e : c.tensorShapes().entrySet()) {
            if (!e.getKey().equals(drop)) {
                w.add(e.getKey(), DType.BF16, e.getValue(), new float[(int) Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b)]);
            }
        }
        if (extra != null) {
            w.add(extra, DType.BF16, new long[] {4}, new float[4]);
        }
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    /** Rewrites a safetensors file's JSON header, keeping its data bytes. */
    private static void rewriteHeader(Path file, Consumer<ObjectNode> edit) throws IOException {
        byte[] b = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        ObjectNode header = (ObjectNode) JSON.readTree(new String(b, 8, (int) n, StandardCharsets.UTF_8));
        edit.accept(header);
        byte[] h = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + h.length + b.length - 8 - (int) n).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(h.length).put(h).put(b, 8 + (int) n, b.length - 8 - (int) n);
        Files.write(file, out.array());
    }

    private static void editIndex(Path dir, Consumer<ObjectNode> editWeightMap) throws IOException {
        JsonNode index = JSON.readTree(Files.readString(dir.resolve(INDEX)));
        editWeightMap.accept((ObjectNode) index.get("weight_map"));
        Files.writeString(dir.resolve(INDEX), JSON.writeValueAsString(index));
    }
}
