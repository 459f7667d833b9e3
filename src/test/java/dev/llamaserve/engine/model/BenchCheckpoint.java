package dev.llamaserve.engine.model;

import dev.llamaserve.engine.checkpoint.DType;
import dev.llamaserve.engine.checkpoint.SafetensorsWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The bench-sized random checkpoint: the Llama-3.2-1B shape (hidden 2048, 16 layers, 32 heads, 8 KV heads,
 * intermediate 8192, vocab 128256, tied embeddings, llama3 RoPE scaling), 2.47 GB of bf16 weights
 * streamed to disk. Only benchmarks (tag "bench") write it; never part of {@code ./mvnw verify}.
 */
public final class BenchCheckpoint {

    public static final String CONFIG = """
            {"architectures": ["LlamaForCausalLM"], "hidden_act": "silu", "hidden_size": 2048,
             "intermediate_size": 8192, "num_attention_heads": 32, "num_hidden_layers": 16,
             "num_key_value_heads": 8, "head_dim": 64, "max_position_embeddings": 131072,
             "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
             "rope_scaling": {"factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 8192, "rope_type": "llama3"},
             "tie_word_embeddings": true, "torch_dtype": "bfloat16", "vocab_size": 128256,
             "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009]}
            """;

    /**
     * The quick shape of the bench ({@code --shape tiny}) and of its long-context run: the demo's small layers
     * (hidden 256, 4 layers, 8 heads over 2 KV heads, intermediate 768) with the 1B's vocabulary, so that the
     * same tokenizer serves both; 66 MB of bf16.
     */
    public static final String TINY_CONFIG = """
            {"architectures": ["LlamaForCausalLM"], "hidden_act": "silu", "hidden_size": 256,
             "intermediate_size": 768, "num_attention_heads": 8, "num_hidden_layers": 4,
             "num_key_value_heads": 2, "head_dim": 32, "max_position_embeddings": 131072,
             "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
             "rope_scaling": {"factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 8192, "rope_type": "llama3"},
             "tie_word_embeddings": true, "torch_dtype": "bfloat16", "vocab_size": 128256,
             "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009]}
            """;

    private BenchCheckpoint() {
    }

    /** Streams a random bf16 checkpoint of the 1B shape ({@link #CONFIG}); returns bytes written. */
    public static long write(Path dir) throws IOException {
        return write(dir, CONFIG);
    }

    /** One MiB of random bf16, for {@code write}'s repeated tensors. */
    private static byte[] randomMib() throws IOException {
        ByteArrayOutputStream block = new ByteArrayOutputStream(1 << 20);
        randomBf16(block, 1 << 19, false, 0);
        return block.toByteArray();
    }

    /** Streams a random bf16 checkpoint of {@code configJson}'s shapes; returns bytes written. */
    public static long write(Path dir, String configJson) throws IOException {
        return write(dir, configJson, false);
    }

    /**
     * As {@link #write(Path, String)}; with {@code repeated}, every tensor but the norms is one random MiB repeated
     * (for memory and speed checks that need the bytes, not their randomness: 16 GB at disk speed).
     */
    public static long write(Path dir, String configJson, boolean repeated) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), configJson);
        ModelConfig c = ModelConfigParser.parse(dir.resolve("config.json"));
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        byte[] mib = repeated ? randomMib() : null;
        long seed = 1;
        for (Map.Entry<String, long[]> e : c.tensorShapes().entrySet()) {
            long n = Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b);
            boolean norm = e.getValue().length == 1;
            long s = seed++;
            w.add(e.getKey(), DType.BF16, e.getValue(), out -> {
                if (repeated && !norm) {
                    for (long left = 2 * n; left > 0; left -= mib.length) {
                        out.write(mib, 0, (int) Math.min(left, mib.length));
                    }
                } else {
                    randomBf16(out, n, norm, s);
                }
            });
        }
        return w.write(dir.resolve("model.safetensors"));
    }

    /** {@code n} bf16 values: 1.0 for norm weights, else uniform in ±0.035 (std ≈ 0.02). */
    private static void randomBf16(OutputStream out, long n, boolean norm, long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] buf = new byte[1 << 20];
        long left = n;
        short one = DType.toBf16(1.0f);
        while (left > 0) {
            int k = (int) Math.min(left, buf.length / 2);
            for (int i = 0; i < k; i++) {
                short v = norm ? one : DType.toBf16((float) ((rnd.nextDouble() * 2 - 1) * 0.035));
                buf[2 * i] = (byte) v;
                buf[2 * i + 1] = (byte) (v >> 8);
            }
            out.write(buf, 0, 2 * k);
            left -= k;
        }
    }
}
