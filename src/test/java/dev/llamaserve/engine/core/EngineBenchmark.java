package dev.llamaserve.engine.core;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.testing.Collector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Engine throughput and latency, against whatever model a subclass provides ({@code OneBEngineBenchmark}: the
 * bench-sized 1B checkpoint; {@code FakeModelEngineBenchmark}: a fake model). Figures go to stdout and {@code target/bench-engine.txt};
 * nothing is asserted about speed. Run: {@code ./mvnw -Pbench verify -Dtest=<Subclass>}.
 */
@Tag("bench")
public abstract class EngineBenchmark {

    protected abstract CausalLm newModel();

    protected abstract Detokenizer detokenizer();

    protected abstract ModelInfo modelInfo();

    protected abstract int[] prompt(int length, int salt);

    protected EngineOptions options() {
        return EngineOptions.defaults();
    }

    protected int decodeTokens() {
        return 64;
    }

    private static final Duration WAIT = Duration.ofMinutes(30);

    @Test
    void engineBenchmark() throws IOException {
        List<String> lines = new ArrayList<>();
        try (LlmEngine e = LlmEngine.start(newModel(), detokenizer(), modelInfo(), options())) {
            run(e, 1, 16, 4); // warm-up
            Collector one = run(e, 1, 16, decodeTokens()).get(0);
            lines.add(String.format(Locale.ROOT, "single-stream decode: %.2f tok/s", Collector.decodeRate(List.of(one))));
            for (int len : new int[] {128, 512}) {
                Collector c = run(e, 1, len, 1).get(0);
                lines.add(String.format(Locale.ROOT, "TTFT %d-token prompt: %.1f ms", len,
                        (c.firstTokenNanos - submitted) / 1e6));
            }
            for (int streams : new int[] {1, 4, 8, 16}) {
                List<Collector> cs = run(e, streams, 16, decodeTokens());
                lines.add(String.format(Locale.ROOT, "aggregate decode, %2d streams: %.2f tok/s (max batch %d)",
                        streams, Collector.decodeRate(cs), e.stats().maxRecentBatchSize()));
            }
        }
        lines.forEach(System.out::println);
        Path out = Path.of("target", "bench-engine.txt");
        Files.createDirectories(out.getParent());
        Files.write(out, lines, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING);
    }

    private long submitted;
    private int ids;

    private List<Collector> run(LlmEngine e, int streams, int promptLen, int maxTokens) {
        List<Collector> cs = new ArrayList<>();
        submitted = System.nanoTime();
        for (int i = 0; i < streams; i++) {
            SamplingParams p = SamplingParams.builder().temperature(0.0).maxTokens(maxTokens).ignoreEos(true).build();
            cs.add(Collector.subscribe(e.submit(new GenerationRequest("bench-" + ids++, prompt(promptLen, ids), p))));
        }
        for (Collector c : cs) {
            c.await(WAIT);
        }
        return cs;
    }
}
