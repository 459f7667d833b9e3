package dev.llamaserve.ops.lifecycle;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

/**
 * One streaming request read line by line as the frames arrive, with the arrival time of the first error
 * frame and of {@code [DONE]} (System.nanoTime).
 */
final class SseStream {

    static final String DONE = "data: [DONE]";

    final List<String> lines = new CopyOnWriteArrayList<>();
    final CompletableFuture<Integer> ended;
    volatile long errorAt;
    volatile long doneAt;

    private SseStream(HttpClient http, URI uri, String json) {
        HttpRequest request = HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofString(json)).build();
        ended = http.sendAsync(request, HttpResponse.BodyHandlers.ofLines())
                .thenApplyAsync(r -> {
                    try (Stream<String> body = r.body()) {
                        body.forEach(this::line);
                    }
                    return r.statusCode();
                });
    }

    static SseStream open(HttpClient http, URI uri, String json) {
        return new SseStream(http, uri, json);
    }

    private void line(String line) {
        long now = System.nanoTime();
        if (line.startsWith("data: {\"error\"") && errorAt == 0) {
            errorAt = now;
        }
        if (line.equals(DONE)) {
            doneAt = now;
        }
        lines.add(line);
    }

    /** The {@code data:} frames received so far. */
    List<String> frames() {
        return lines.stream().filter(l -> l.startsWith("data: ")).toList();
    }
}
