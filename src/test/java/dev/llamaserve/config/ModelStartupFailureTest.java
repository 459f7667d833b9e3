package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.llamaserve.LlamaServeApplication;
import dev.llamaserve.engine.device.DevicePlanner;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Startup refusals come out as one clear report that says what to change. */
class ModelStartupFailureTest {

    /**
     * Asks for one GPU more than the loaded libtorch sees: {@code gpu:0} on a machine without CUDA, {@code gpu:N}
     * on one with N GPUs, so the refusal is tested wherever the test runs.
     */
    @Test
    void aGpuTheLoadedLibtorchDoesNotSeeIsRefusedWithTheReason(@TempDir Path cache) {
        int gpus = DevicePlanner.gpuCount();
        String device = "gpu:" + gpus;
        FailureAnalysis analysis = analyze(startFailing("--llm.model.device=" + device, "--llm.cache-dir=" + cache));
        assertThat(analysis.getDescription()).contains(device).contains("sees " + gpus + " CUDA GPU(s)")
                .contains("PYTORCH_LIBRARY_PATH");
        assertThat(analysis.getAction()).contains("llm.model");
    }

    @Test
    void aMissingModelDirectoryIsNamed(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-model");
        FailureAnalysis analysis = analyze(startFailing("--llm.model.path=" + missing));
        assertThat(analysis.getDescription()).contains(missing.toString()).contains("not a directory");
    }

    @Test
    void anUnknownDtypeIsNamed(@TempDir Path cache) {
        FailureAnalysis analysis = analyze(startFailing("--llm.model.dtype=int4", "--llm.cache-dir=" + cache));
        assertThat(analysis.getDescription()).contains("llm.model.dtype").contains("int4");
    }

    @Test
    void aKvBudgetThatCannotHoldTheContextIsRefused(@TempDir Path cache) {
        FailureAnalysis analysis = analyze(startFailing("--llm.cache-dir=" + cache,
                "--llm.engine.kv-cache-memory=1MiB", "--llm.engine.max-model-len=65536"));
        assertThat(analysis.getDescription()).contains("llm.engine.max-model-len");
    }

    private static Throwable startFailing(String... args) {
        SpringApplication app = new SpringApplication(LlamaServeApplication.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        Throwable thrown = catchThrowable(() -> app.run(args).close());
        assertThat(thrown).as("startup with " + String.join(" ", args) + " fails").isNotNull();
        return thrown;
    }

    private static FailureAnalysis analyze(Throwable failure) {
        FailureAnalysis analysis = new ModelStartupFailureAnalyzer().analyze(failure);
        assertThat(analysis).as("a ModelStartupException in the cause chain of " + failure).isNotNull();
        return analysis;
    }
}
