package dev.llamaserve.engine.core;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.model.BenchCheckpoint;
import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.model.LlamaModel;
import dev.llamaserve.engine.model.LoadListener;
import dev.llamaserve.engine.model.ModelOptions;
import dev.llamaserve.engine.model.Quantization;
import dev.llamaserve.engine.testing.FakeDetokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;

/**
 * The engine benchmark on the REAL forward pass with the bench-sized random checkpoint (Llama-3.2-1B shape,
 * written to a temporary directory and deleted afterwards). The checkpoint has no tokenizer, so text is
 * decoded by the byte-level test detokenizer; token ids and timings are the real model's.
 *
 * <p>Run: {@code ./mvnw -B -Pbench verify -Dtest=OneBEngineBenchmark -Dsurefire.failIfNoSpecifiedTests=false}
 * ({@code -Dbench.dtype=float16} for another dtype, {@code -Dbench.quantization=int8} for int8 weights).
 */
class OneBEngineBenchmark extends EngineBenchmark {

    private static final Set<Integer> EOS = Set.of(128_001, 128_008, 128_009);
    private static Path dir;

    private static synchronized Path checkpoint() {
        if (dir == null) {
            try {
                dir = Files.createTempDirectory("bench-1b");
                long t0 = System.nanoTime();
                long bytes = BenchCheckpoint.write(dir);
                System.out.printf("bench: wrote %.2f GB random bf16 checkpoint in %.1f s%n", bytes / 1e9,
                        (System.nanoTime() - t0) / 1e9);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return dir;
    }

    @AfterAll
    static void deleteCheckpoint() throws IOException {
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Override
    protected CausalLm newModel() {
        String dtype = System.getProperty("bench.dtype", "bfloat16");
        Quantization quantization = Quantization.parse(System.getProperty("bench.quantization", "none"));
        System.out.println("bench: engine on the 1B shape in " + dtype + ", quantization " + quantization.optionName());
        // KV for 16 streams of up to 640 tokens, in blocks of 16.
        return LlamaModel.load(Checkpoint.open(checkpoint()),
                new ModelOptions("cpu", dtype, 16 * 1024, 512, quantization), LoadListener.NONE);
    }

    @Override
    protected Detokenizer detokenizer() {
        return new FakeDetokenizer(EOS);
    }

    @Override
    protected ModelInfo modelInfo() {
        return new ModelInfo(8192, 128_256, EOS, 0.6, 0.9, false, null);
    }

    @Override
    protected EngineOptions options() {
        return EngineOptions.defaults().withMaxNumBatchedTokens(512);
    }

    @Override
    protected int decodeTokens() {
        return 32;
    }

    @Override
    protected int[] prompt(int length, int salt) {
        int[] p = new int[length];
        p[0] = 128_000;
        for (int i = 1; i < length; i++) {
            p[i] = Math.floorMod(salt * 7919 + i * 104_729, 120_000);
        }
        return p;
    }
}
