package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.device.DevicePlanner;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model that cannot load fails the service with one clear report that says what to change, then a non-zero
 * exit. The model loads in the background after the web server started, so each case runs the service as
 * a real child process (all five at once) and reads what it printed and how it exited.
 */
class ModelStartupFailureIT {

    /** One GPU more than the loaded libtorch sees (gpu:0 without CUDA), so the refusal is tested anywhere. */
    private static final String GPU = "gpu:" + DevicePlanner.gpuCount();
    private static final Duration TIMEOUT = Duration.ofMinutes(4);
    private static final Map<String, Process> processes = new ConcurrentHashMap<>();
    private static final Map<String, Path> logs = new ConcurrentHashMap<>();

    @TempDir
    static Path dir;

    @BeforeAll
    static void startAll() throws IOException {
        start("gpu", "--llm.model.device=" + GPU, "--llm.cache-dir=" + dir.resolve("cache-gpu"));
        start("missing", "--llm.model.path=" + dir.resolve("no-such-model"));
        start("dtype", "--llm.model.dtype=int4", "--llm.cache-dir=" + dir.resolve("cache-dtype"));
        start("kvdtype", "--llm.engine.kv-cache-dtype=fp8", "--llm.cache-dir=" + dir.resolve("cache-kvdtype"));
        start("threads", "--llm.model.cpu-threads=all", "--llm.cache-dir=" + dir.resolve("cache-threads"));
        start("kv", "--llm.cache-dir=" + dir.resolve("cache-kv"), "--llm.engine.kv-cache-memory=1MiB",
                "--llm.engine.max-model-len=65536");
    }

    @AfterAll
    static void stopAll() {
        processes.values().forEach(Process::destroyForcibly);
    }

    private static void start(String name, String... args) throws IOException {
        Path log = dir.resolve(name + ".log");
        logs.put(name, log);
        processes.put(name, ServiceProcess.start(log, args));
    }

    @Test
    void aGpuTheLoadedLibtorchDoesNotSeeIsRefusedWithTheReason() throws Exception {
        assertThat(report("gpu")).contains(GPU).contains("PYTORCH_LIBRARY_PATH").contains("llm.model");
    }

    @Test
    void aMissingModelDirectoryIsNamed() throws Exception {
        assertThat(report("missing")).contains(dir.resolve("no-such-model").toString()).contains("not a directory");
    }

    @Test
    void anUnknownDtypeIsNamed() throws Exception {
        assertThat(report("dtype")).contains("llm.model.dtype").contains("int4");
    }

    @Test
    void anUnknownKvCacheDtypeIsNamed() throws Exception {
        assertThat(report("kvdtype")).contains("llm.engine.kv-cache-dtype").contains("'fp8'").contains("float8_e4m3");
    }

    @Test
    void aBadCpuThreadCountIsNamed() throws Exception {
        assertThat(report("threads")).contains("llm.model.cpu-threads").contains("'all'");
    }

    @Test
    void aKvBudgetThatCannotHoldTheContextIsRefused() throws Exception {
        assertThat(report("kv")).contains("llm.engine.max-model-len");
    }

    /**
     * Waits for the process; asserts that the web server had started, that the load failure came out as one
     * report, and that the process then exited with status 1. Returns the report.
     */
    private static String report(String name) throws Exception {
        ServiceProcess.Result r = ServiceProcess.await(processes.get(name), logs.get(name), TIMEOUT);
        String out = r.output();
        assertThat(r.exitedInTime()).as("exited within %s; output:%n%s", TIMEOUT, out).isTrue();
        assertThat(r.exitStatus()).as("exit status; output:%n%s", out).isEqualTo(1);
        int started = out.indexOf("Netty started on port");
        int report = out.indexOf("APPLICATION FAILED TO START");
        assertThat(started).as("the web server started; output:%n%s", out).isNotNegative();
        assertThat(report).as("one failure report after the web server started; output:%n%s", out)
                .isGreaterThan(started);
        assertThat(out.indexOf("APPLICATION FAILED TO START", report + 1)).as("only one report").isNegative();
        String text = out.substring(report);
        assertThat(text).contains("Description:").contains("The model could not be loaded: ")
                .contains("Action:")
                .contains("The README's Configuration and Operations sections list every property.");
        return text;
    }
}
