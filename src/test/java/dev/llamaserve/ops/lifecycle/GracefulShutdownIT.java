package dev.llamaserve.ops.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.llamaserve.ops.health.ProbePaths;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Graceful shutdown of the packaged service: a real {@code java -jar target/llama-serve-*.jar} process (run
 * by failsafe after {@code package}) serving the demo checkpoint, SIGTERM while 4 streams and 1 very long
 * stream are in flight. Readiness turns DOWN at once and new requests are refused (503 draining, or the
 * connection is refused once the port closes); the 4 streams complete; the long one is ended after the
 * drain timeout (default 30 s) with an error frame and {@code [DONE]}; the process exits within the drain
 * timeout + 10 s.
 */
class GracefulShutdownIT {

    private static final Duration DRAIN = Duration.ofSeconds(30);
    private static final Pattern PORT = Pattern.compile("Netty started on port (\\d+)");
    private static final String MODEL = "llama-3.1-demo-random";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private Process process;

    @TempDir
    Path dir;

    @AfterEach
    void kill() {
        if (process != null) {
            process.destroyForcibly();
        }
    }

    @Test
    void sigtermDrainsRunningStreamsThenExits() throws Exception {
        Path log = dir.resolve("service.log");
        process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dai.djl.offline=true", "-jar", jar().toString(), "--server.port=0",
                "--llm.cache-dir=" + dir.resolve("cache"), "--llm.engine.kv-cache-memory=128MiB")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        String base = "http://localhost:" + awaitPort(log);
        awaitStatus(base + ProbePaths.READYZ, 200, Duration.ofMinutes(5), log);

        List<SseStream> shortStreams = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            shortStreams.add(SseStream.open(http, URI.create(base + "/v1/chat/completions"), chat(16)));
        }
        SseStream longStream = SseStream.open(http, URI.create(base + "/v1/chat/completions"), chat(20_000));
        List<SseStream> all = new ArrayList<>(shortStreams);
        all.add(longStream);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (!all.stream().allMatch(s -> s.frames().size() >= 2)) {
            assertThat(System.nanoTime()).as("all 5 streams generating").isLessThan(deadline);
            Thread.sleep(5);
        }
        long runningAtSigterm = shortStreams.stream().filter(s -> s.doneAt == 0).count();

        long sigterm = System.nanoTime();
        process.destroy(); // SIGTERM
        awaitNotReady(base + ProbePaths.READYZ, Duration.ofSeconds(5));
        assertRefused(base);

        for (SseStream s : shortStreams) {
            assertThat(s.ended.get(DRAIN.toSeconds() + 10, TimeUnit.SECONDS)).isEqualTo(200);
            List<String> frames = s.frames();
            assertThat(frames).as("a short stream completes").last().isEqualTo(SseStream.DONE);
            assertThat(String.join("\n", frames)).contains("\"finish_reason\":\"length\"").doesNotContain("\"error\"");
        }
        assertThat(runningAtSigterm).as("short streams still running when SIGTERM was sent").isPositive();

        assertThat(longStream.ended.get(DRAIN.toSeconds() + 10, TimeUnit.SECONDS)).isEqualTo(200);
        List<String> frames = longStream.frames();
        assertThat(frames).as("the long stream ends with [DONE]").last().isEqualTo(SseStream.DONE);
        assertThat(frames.get(frames.size() - 2)).as("after an error frame").startsWith("data: {\"error\"");
        assertThat(Duration.ofNanos(longStream.errorAt - sigterm)).as("ended at the drain timeout")
                .isGreaterThanOrEqualTo(DRAIN.minusSeconds(1));

        boolean exited = process.waitFor(DRAIN.toSeconds() + 10 - Duration.ofNanos(System.nanoTime() - sigterm)
                .toSeconds(), TimeUnit.SECONDS);
        assertThat(exited).as("exited within drain timeout + 10 s; log:%n%s", tail(log)).isTrue();
        long lastShort = shortStreams.stream().mapToLong(st -> st.doneAt).max().orElseThrow();
        System.out.printf("graceful shutdown: %d of 4 short streams running at SIGTERM, all done %d ms after it;"
                        + " long stream ended with an error %d ms after it; process exited %d ms after it%n",
                runningAtSigterm, (lastShort - sigterm) / 1_000_000, (longStream.errorAt - sigterm) / 1_000_000,
                (System.nanoTime() - sigterm) / 1_000_000);
        assertThat(Files.readString(log)).contains("Draining: readiness DOWN");
    }

    /** A new request after SIGTERM: 503 draining while the port is open, or a refused connection. */
    private void assertRefused(String base) throws InterruptedException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(10))
                    .POST(HttpRequest.BodyPublishers.ofString(chat(1))).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
            assertThat(r.body()).contains("\"code\":\"draining\"");
            assertThat(r.headers().firstValue("Retry-After")).isPresent();
        } catch (IOException refused) {
            // the port closed: connection refused is what the issue allows
        }
    }

    private void awaitNotReady(String url, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 503) {
                    return;
                }
            } catch (IOException refused) {
                return;
            }
            Thread.sleep(20);
        }
        fail("readiness still UP " + timeout.toSeconds() + " s after SIGTERM");
    }

    private void awaitStatus(String url, int status, Duration timeout, Path log) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            assertThat(process.isAlive()).as("service alive; log:%n%s", tail(log)).isTrue();
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == status) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(50);
        }
        fail(url + " did not answer " + status + " within " + timeout + "; log:\n" + tail(log));
    }

    private int awaitPort(Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (System.nanoTime() < deadline) {
            assertThat(process.isAlive()).as("service alive; log:%n%s", tail(log)).isTrue();
            Matcher m = PORT.matcher(Files.readString(log, StandardCharsets.UTF_8));
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            Thread.sleep(100);
        }
        return fail("the web server did not start; log:\n" + tail(log));
    }

    private static String chat(int maxTokens) {
        return "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                + "\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":" + maxTokens + ",\"stream\":true}";
    }

    private static Path jar() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("target"))) {
            return files.filter(p -> p.getFileName().toString().matches("llama-serve-.*\\.jar")).findFirst()
                    .orElseThrow(() -> new AssertionError("no target/llama-serve-*.jar: this test runs in"
                            + " `./mvnw verify` after `package`"));
        }
    }

    private static String tail(Path log) {
        try {
            String s = Files.readString(log, StandardCharsets.UTF_8);
            return s.substring(Math.max(0, s.length() - 6000));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
