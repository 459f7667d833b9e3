package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.EngineStats;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Streaming behaviour over real HTTP on the REAL engine: chunks leave as they are generated (no
 * buffering), and a client that goes away frees its sequence at once (running back to 0, KV usage back
 * to its baseline, within one second), streaming or not.
 */
class StreamingHttpIT extends RealEngineWebTest {

    @Test
    void firstContentChunkArrivesWellBeforeTheLast() throws Exception {
        long start = System.nanoTime();
        HttpResponse<Stream<String>> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/v1/chat/completions"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(chat(greedy(500) + ",\"stream\":true"))).build(),
                HttpResponse.BodyHandlers.ofLines());
        assertThat(r.statusCode()).isEqualTo(200);
        List<Long> contentArrivals = new ArrayList<>();
        long done = -1;
        try (Stream<String> lines = r.body()) {
            Iterator<String> it = lines.iterator();
            while (it.hasNext()) {
                String line = it.next();
                long now = System.nanoTime() - start;
                if (line.startsWith("data: {") && line.contains("\"delta\":{\"content\"")) {
                    contentArrivals.add(now);
                } else if (line.equals("data: [DONE]")) {
                    done = now;
                }
            }
        }
        assertThat(done).isPositive();
        assertThat(contentArrivals).hasSizeGreaterThan(250);
        long first = contentArrivals.get(0);
        long last = contentArrivals.get(contentArrivals.size() - 1);
        System.out.printf("stream of 500 tokens: first content chunk at %d ms, last at %d ms, [DONE] at %d ms (%d content chunks)%n",
                first / 1_000_000, last / 1_000_000, done / 1_000_000, contentArrivals.size());
        // a buffering check, not a speed target: a buffered stream delivers everything at the end. 500 tokens so
        // that a stall of the loaded machine before the first token (seconds at worst) stays under half the stream
        assertThat(first).isLessThan(last / 2);
    }

    @Test
    void streamingClientDisconnectFreesTheSequenceWithinOneSecond() throws Exception {
        streamThenDisconnect("/v1/chat/completions", chat(greedy(3000) + ",\"stream\":true"), "\"delta\":{\"content\"",
                "streaming chat");
    }

    @Test
    void streamingCompletionsClientDisconnectFreesTheSequenceWithinOneSecond() throws Exception {
        streamThenDisconnect("/v1/completions", "{\"prompt\":\"Once\"," + greedy(3000) + ",\"stream\":true}",
                "\"text\":", "streaming completions");
    }

    private void streamThenDisconnect(String path, String body, String contentMarker, String what) throws Exception {
        EngineStats baseline = engine.stats();
        long closedAt;
        try (Socket socket = new Socket("localhost", port)) {
            send(socket, path, body);
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            int contentLines = 0;
            String line;
            while (contentLines < 3 && (line = in.readLine()) != null) {
                if (line.startsWith("data: {") && line.contains(contentMarker)) {
                    contentLines++;
                }
            }
            assertThat(contentLines).isEqualTo(3);
            EngineStats during = engine.stats();
            assertThat(during.running()).isEqualTo(1);
            assertThat(during.kvBlocksUsed()).isGreaterThan(baseline.kvBlocksUsed());
            closedAt = System.nanoTime();
        }
        long freedAfter = awaitFreed(baseline, closedAt);
        System.out.printf("%s disconnect: sequence freed %d ms after the client closed%n", what, freedAfter / 1_000_000);
        assertThat(freedAfter).isLessThan(Duration.ofSeconds(1).toNanos());
    }

    @Test
    void nonStreamingClientDisconnectFreesTheSequenceWithinOneSecond() throws Exception {
        EngineStats baseline = engine.stats();
        long closedAt;
        try (Socket socket = new Socket("localhost", port)) {
            send(socket, "/v1/chat/completions", chat(greedy(3000)));
            long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (engine.stats().running() == 0 && System.nanoTime() < until) {
                Thread.sleep(2);
            }
            EngineStats during = engine.stats();
            assertThat(during.running()).isEqualTo(1);
            assertThat(during.kvBlocksUsed()).isGreaterThan(baseline.kvBlocksUsed());
            closedAt = System.nanoTime();
        }
        long freedAfter = awaitFreed(baseline, closedAt);
        System.out.printf("non-streaming disconnect: sequence freed %d ms after the client closed%n",
                freedAfter / 1_000_000);
        assertThat(freedAfter).isLessThan(Duration.ofSeconds(1).toNanos());
    }

    private static void send(Socket socket, String path, String body) throws Exception {
        OutputStream out = socket.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body)
                .getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Nanoseconds from {@code closedAt} until running is 0 and KV usage is back at the baseline (10 s at most). */
    private long awaitFreed(EngineStats baseline, long closedAt) throws InterruptedException {
        long deadline = closedAt + Duration.ofSeconds(10).toNanos();
        EngineStats s = engine.stats();
        while ((s.running() != 0 || s.kvBlocksUsed() != baseline.kvBlocksUsed()) && System.nanoTime() < deadline) {
            Thread.sleep(1);
            s = engine.stats();
        }
        long took = System.nanoTime() - closedAt;
        assertThat(s.running()).as("%s", s).isZero();
        assertThat(s.waiting()).isZero();
        assertThat(s.kvBlocksUsed()).isEqualTo(baseline.kvBlocksUsed());
        return took;
    }
}
