package dev.llamaserve.config;

import dev.llamaserve.LlamaServeApplication;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The service as a real {@code java} child process on the production class path (the test class path
 * without the test classes, so no test configuration or test application.properties), output to a file.
 */
final class ServiceProcess {

    /** How a finished (or killed) process ended: its exit status and everything it printed. */
    record Result(int exitStatus, boolean exitedInTime, String output) {}

    private ServiceProcess() {}

    static Process start(Path log, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-Dai.djl.offline=true", "-cp", productionClassPath(),
                LlamaServeApplication.class.getName(), "--server.port=0"));
        command.addAll(Arrays.asList(args));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    static Result await(Process p, Path log, Duration timeout) throws IOException, InterruptedException {
        boolean exited = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (!exited) {
            p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        return new Result(p.exitValue(), exited, Files.readString(log, StandardCharsets.UTF_8));
    }

    private static String productionClassPath() {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return Arrays.stream(cp.split(File.pathSeparator))
                .filter(e -> !e.endsWith("test-classes") && !e.endsWith("test-classes" + File.separator))
                .collect(Collectors.joining(File.pathSeparator));
    }
}
