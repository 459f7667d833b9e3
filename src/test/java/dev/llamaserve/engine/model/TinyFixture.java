package dev.llamaserve.engine.model;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.checkpoint.TensorInfo;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The tiny Llama 3.1 fixture checkpoint on the test class path, and its reference outputs. */
public final class TinyFixture {

    public static final String DIR = "fixtures/tiny-llama31/";
    public static final String[] FILES = {"config.json", "model.safetensors.index.json",
        "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};

    private TinyFixture() {
    }

    /** A file or directory under {@code src/test/resources/fixtures}, as it sits on the class path. */
    public static Path fixture(String path) {
        try {
            return Path.of(TinyFixture.class.getResource("/fixtures/" + path).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The fixture directory as it sits on the class path (target/test-classes). */
    public static Path dir() {
        URL url = TinyFixture.class.getClassLoader().getResource(DIR + "config.json");
        if (url == null) {
            throw new IllegalStateException(DIR + " missing from the test class path");
        }
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Copies the checkpoint files into {@code target} (for tests that corrupt them). */
    public static Path copyTo(Path target) throws IOException {
        Files.createDirectories(target);
        for (String f : FILES) {
            try (InputStream in = TinyFixture.class.getClassLoader().getResourceAsStream(DIR + f)) {
                Files.copy(in, target.resolve(f));
            }
        }
        return target;
    }

    /** Writes tensor {@code t}'s bytes as they are in its checkpoint (for a {@code SafetensorsWriter} source). */
    public static void writeTensor(TensorInfo t, java.io.OutputStream out) throws IOException {
        java.nio.ByteBuffer b = Checkpoint.map(t);
        try {
            java.nio.channels.Channels.newChannel(out).write(b);
        } finally {
            Checkpoint.unmap(b);
        }
    }

    public static JsonNode reference() throws IOException {
        try (InputStream in = TinyFixture.class.getClassLoader().getResourceAsStream(DIR + "reference-outputs.json")) {
            return JsonMapper.builder().build().readTree(in);
        }
    }

    /** The reference case named {@code name} ({@code prefill_24}, {@code long_9000}). */
    public static JsonNode testCase(JsonNode reference, String name) {
        for (JsonNode c : reference.get("cases")) {
            if (c.get("name").asString().equals(name)) {
                return c;
            }
        }
        throw new IllegalStateException("no case " + name);
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    public static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asDouble();
        }
        return out;
    }

    public static List<JsonNode> list(JsonNode array) {
        List<JsonNode> out = new ArrayList<>();
        array.forEach(out::add);
        return out;
    }
}
