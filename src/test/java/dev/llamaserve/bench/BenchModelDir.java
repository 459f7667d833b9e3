package dev.llamaserve.bench;

import dev.llamaserve.engine.model.BenchCheckpoint;
import dev.llamaserve.engine.model.TinyFixture;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The bench's random checkpoints as complete Hugging Face model directories that the server can serve:
 * {@link BenchCheckpoint}'s bf16 weights (shape {@code 1b}, {@code tiny}, or {@code 8b}: Llama-3.1-8B's real
 * {@code config.json} from the test fixtures), and a tokenizer covering the
 * whole 128,256-token vocabulary: the demo's byte-level BPE (ids 0..1023), filler tokens of 3–4 ASCII
 * letters up to id 127,999 (so that every id a random model picks decodes to text, and every token becomes
 * one SSE frame), and the 256 Llama 3.1 special tokens moved to their real ids 128,000..128,255.
 *
 * <p>Written once into {@code ~/.cache/llama-serve/bench-<shape>-v<version>} (a temporary directory beside
 * it, then renamed), reused by later runs.
 */
final class BenchModelDir {

    static final int VERSION = 1;
    private static final int FIRST_SPECIAL = 128_000;
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private BenchModelDir() {
    }

    /** The cached directory of {@code shape} ({@code 1b}, {@code tiny} or {@code 8b}), written first if absent. */
    static Path ensure(String shape) throws IOException {
        String config = switch (shape) {
            case "1b" -> BenchCheckpoint.CONFIG;
            case "tiny" -> BenchCheckpoint.TINY_CONFIG;
            case "8b" -> Files.readString(TinyFixture.fixture("llama-3.1-8b-instruct/config.json"));
            default -> throw new IllegalArgumentException("--shape must be 1b, tiny or 8b, was " + shape);
        };
        Path root = Path.of(System.getProperty("bench.cache-dir",
                Path.of(System.getProperty("user.home"), ".cache", "llama-serve").toString()));
        Path dir = root.resolve("bench-" + shape + "-v" + VERSION);
        if (Files.isRegularFile(dir.resolve("tokenizer_config.json"))) {
            return dir;
        }
        Files.createDirectories(root);
        Path tmp = Files.createTempDirectory(root, "bench-" + shape + "-tmp-");
        long t0 = System.nanoTime();
        long bytes = BenchCheckpoint.write(tmp, config);
        writeTokenizer(tmp);
        generationConfig(tmp);
        try {
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException | java.nio.file.FileAlreadyExistsException e) {
            deleteTree(tmp);   // another run won the race
        } catch (java.nio.file.DirectoryNotEmptyException e) {
            deleteTree(tmp);
        }
        System.out.printf("bench: wrote the %s checkpoint (%.2f GB random bf16) into %s in %.1f s%n", shape,
                bytes / 1e9, dir, (System.nanoTime() - t0) / 1e9);
        return dir;
    }

    private static void writeTokenizer(Path dir) throws IOException {
        ObjectNode tokenizer = (ObjectNode) JSON.readTree(resource("tokenizer.json"));
        ObjectNode vocab = (ObjectNode) tokenizer.get("model").get("vocab");
        int regular = vocab.size();
        Set<String> taken = new HashSet<>();
        vocab.properties().forEach(e -> taken.add(e.getKey()));
        int shift = FIRST_SPECIAL - regular;
        long n = 0;
        for (int id = regular; id < FIRST_SPECIAL; n++) {
            String text = filler(n);
            if (taken.add(text)) {
                vocab.put(text, id++);
            }
        }
        for (JsonNode t : tokenizer.get("added_tokens")) {
            ((ObjectNode) t).put("id", t.get("id").asInt() + shift);
        }
        Files.writeString(dir.resolve("tokenizer.json"), JSON.writeValueAsString(tokenizer));

        ObjectNode config = (ObjectNode) JSON.readTree(resource("tokenizer_config.json"));
        ObjectNode decoder = (ObjectNode) config.get("added_tokens_decoder");
        ObjectNode moved = JSON.createObjectNode();
        for (Map.Entry<String, JsonNode> e : decoder.properties()) {
            moved.set(Integer.toString(Integer.parseInt(e.getKey()) + shift), e.getValue());
        }
        config.set("added_tokens_decoder", moved);
        Files.writeString(dir.resolve("tokenizer_config.json"), JSON.writeValueAsString(config));
    }

    /** The n-th filler text: "Ġ" (a space) and 3–4 lowercase letters, so decoded text reads as words. */
    static String filler(long n) {
        StringBuilder s = new StringBuilder();
        long v = n + 26 * 26;   // 3 letters from n = 0, 4 from n = 26^3 - 676
        while (v > 0) {
            s.append((char) ('a' + v % 26));
            v /= 26;
        }
        return "\u0120" + s;
    }

    private static void generationConfig(Path dir) throws IOException {
        Files.writeString(dir.resolve("generation_config.json"), """
                {"bos_token_id": 128000, "do_sample": true, "eos_token_id": [128001, 128008, 128009],
                 "temperature": 0.6, "top_p": 0.9}
                """);
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = BenchModelDir.class.getResourceAsStream("/demo/" + name)) {
            if (in == null) {
                throw new IllegalStateException("resource /demo/" + name + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
