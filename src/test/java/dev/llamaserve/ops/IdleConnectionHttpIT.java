package dev.llamaserve.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.LlamaServeApplication;
import dev.llamaserve.api.openai.HttpTestSupport;
import dev.llamaserve.api.openai.RealEngineWebTest;
import dev.llamaserve.ops.health.ProbePaths;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;

/**
 * {@code server.netty.idle-timeout} (llama-serve sets 620 s; here 500 ms) on the real server: a keep-alive
 * connection that waits for its next request is closed after it, one that keeps sending requests is not, and a
 * request being answered is never cut, however long its stream is silent (here a stream queued behind another
 * with one sequence at a time: seconds before its first byte).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        classes = LlamaServeApplication.class,
        properties = {
                "server.netty.idle-timeout=" + IdleConnectionHttpIT.IDLE_MS + "ms",
                "llm.engine.max-model-len=4096",
                "llm.engine.max-num-seqs=1",
                "llm.api.keep-alive-interval=60s"
        })
class IdleConnectionHttpIT extends HttpTestSupport {

    static final long IDLE_MS = 500;

    @Override
    protected String model() {
        return RealEngineWebTest.MODEL;
    }

    private static final byte[] PROBE = ("GET " + ProbePaths.LIVEZ + " HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII);

    @Test
    void anIdleKeepAliveConnectionIsClosedAndABusyOneIsNot() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            long opened = System.nanoTime();
            for (int i = 0; i < 8; i++) {   // a request every 40 % of the timeout: 4 timeouts in all
                out.write(PROBE);
                out.flush();
                assertThat(KeepAliveHttpIT.readResponse(in).status()).as("request %d on one connection", i)
                        .isEqualTo(200);
                Thread.sleep(IDLE_MS * 2 / 5);
            }
            assertThat(Duration.ofNanos(System.nanoTime() - opened)).as("open for longer than the timeout")
                    .isGreaterThan(Duration.ofMillis(3 * IDLE_MS));
            long idleSince = System.nanoTime();
            assertThat(in.read()).as("the server closes the idle connection").isEqualTo(-1);
            long idleMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - idleSince);
            assertThat(idleMs).as("closed after the idle timeout, not before")
                    .isGreaterThanOrEqualTo(IDLE_MS * 2 / 5).isLessThan(15_000);
        }
    }

    @Test
    void aStreamSilentForLongerThanTheTimeoutIsNotCut() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        String body = chat("\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":2000,\"stream\":true");
        List<CompletableFuture<long[]>> streams = new ArrayList<>();
        for (int i = 0; i < 2; i++) {   // one sequence at a time: the second waits for the first to finish
            long sent = System.nanoTime();
            streams.add(client.sendAsync(request("POST", "/v1/chat/completions", null, body),
                            HttpResponse.BodyHandlers.ofInputStream())
                    .thenApply(r -> readStream(r, sent)));
        }
        long longestSilence = 0;
        for (CompletableFuture<long[]> stream : streams) {
            long[] silenceAndFrames = stream.get(180, TimeUnit.SECONDS);
            assertThat(silenceAndFrames[1]).as("every frame of the stream, to its [DONE]").isGreaterThan(2000);
            longestSilence = Math.max(longestSilence, silenceAndFrames[0]);
        }
        // the queued stream's first frame (the role) comes at once, its tokens once the other stream has finished
        // (about 5 s here: 2,000 tokens of the demo checkpoint, AMD EPYC Zen 5, 2 cores)
        assertThat(longestSilence).as("a stream was silent for more than twice the idle timeout")
                .isGreaterThan(2 * IDLE_MS);
    }

    /** {the longest ms without a data frame since sending, data frames}; fails unless the stream ends with [DONE]. */
    private static long[] readStream(HttpResponse<InputStream> response, long sent) {
        assertThat(response.statusCode()).isEqualTo(200);
        long previous = sent;
        long longestMs = 0;
        long frames = 0;
        String last = null;
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.startsWith("data:")) {
                    long now = System.nanoTime();
                    longestMs = Math.max(longestMs, TimeUnit.NANOSECONDS.toMillis(now - previous));
                    previous = now;
                    frames++;
                    last = line;
                }
            }
        } catch (IOException e) {
            throw new AssertionError("the stream was cut after " + frames + " frames", e);
        }
        assertThat(last).as("the stream's last frame").isEqualTo("data: [DONE]");
        return new long[] {longestMs, frames};
    }
}
