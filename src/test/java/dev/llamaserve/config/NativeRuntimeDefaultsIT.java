package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CPU tokenizer build and DJL's offline mode are forced by the application itself, before DJL loads:
 * proved in a child JVM started without any of this test JVM's flags (surefire passes -Dai.djl.offline=true
 * to this one) and without RUST_FLAVOR / DJL_OFFLINE in its environment.
 */
class NativeRuntimeDefaultsIT {

    @TempDir
    Path engineCache;

    @Test
    void applicationForcesCpuTokenizersAndOfflineMode() throws Exception {
        List<String> out = runProbe(List.of(), Map.of(), "load-tokenizer");
        assertThat(out).contains("RUST_FLAVOR=cpu", "offline=true");
        // DJL extracted the CPU build of the tokenizer natives into ENGINE_CACHE_DIR (a writable volume in the images).
        assertThat(out).anySatisfy(line -> assertThat(line).startsWith("extracted=").contains("-cpu-"));
    }

    @Test
    void explicitSettingsWin() throws Exception {
        List<String> out = runProbe(List.of("-DRUST_FLAVOR=cu128"), Map.of("DJL_OFFLINE", "false"));
        assertThat(out).contains("RUST_FLAVOR=cu128", "offline=false");
    }

    private List<String> runProbe(List<String> jvmFlags, Map<String, String> env, String... args)
            throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmFlags);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), NativeRuntimeProbe.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().keySet().removeAll(List.of("RUST_FLAVOR", "DJL_OFFLINE", "JAVA_TOOL_OPTIONS",
                "JDK_JAVA_OPTIONS", "ENGINE_CACHE_DIR", "DJL_CACHE_DIR"));
        builder.environment().put("ENGINE_CACHE_DIR", engineCache.toString());
        builder.environment().putAll(env);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("probe finished").isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        return output.lines().toList();
    }
}
