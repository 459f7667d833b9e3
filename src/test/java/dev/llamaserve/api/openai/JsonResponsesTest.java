package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;

/**
 * A request's body is handed on off the thread that read it (the connection's event loop in the server): what is
 * done with it next (parsing, tokenizing megabytes, compiling a schema) must not hold the event loop, which also
 * answers the probes.
 */
class JsonResponsesTest {

    @Test
    void theBodyIsDeliveredOnABoundedElasticThread() {
        AtomicReference<String> thread = new AtomicReference<>();
        byte[] body = JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions").body("{\"a\":1}"), settings(1024))
                .doOnNext(b -> thread.set(Thread.currentThread().getName()))
                .block(Duration.ofSeconds(5));
        assertThat(new String(body, StandardCharsets.UTF_8)).isEqualTo("{\"a\":1}");
        assertThat(thread.get()).startsWith("boundedElastic-");
    }

    /**
     * A stack overflow in what is made of the body (deep recursion on a crafted input) is the request's 400, which the
     * client gets: Reactor re-throws such an Error on the worker instead of passing it on, and the request went
     * unanswered.
     */
    @Test
    void aStackOverflowWhileHandlingTheBodyIsAnsweredWithA400() {
        assertThatThrownBy(() -> JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions")
                .body("{\"a\":1}"), settings(1024), body -> recurse(body.length)).block(Duration.ofSeconds(30)))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.type()).isEqualTo("invalid_request_error");
                    assertThat(e.getMessage()).contains("nested too deeply");
                });
    }

    private static int recurse(int n) {
        return recurse(n + 1) + 1;
    }

    @Test
    void aBodyOverTheLimitIsRefused() {
        assertThatThrownBy(() -> JsonResponses.readBody(MockServerHttpRequest.post("/v1/completions")
                .body("x".repeat(2000)), settings(1024)).block(Duration.ofSeconds(5)))
                .isInstanceOf(ApiException.class);
    }

    private static ApiSettings settings(long maxBodyBytes) {
        return new ApiSettings(false, maxBodyBytes, Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(1),
                new BodyBudget(4096));
    }

    /** A body that stalls half-sent held its admission slot for ever; after llm.api.body-timeout it is a 408. */
    @Test
    void aBodyThatDoesNotArriveInTimeIsA408() {
        MockServerHttpRequest stalled = MockServerHttpRequest.post("/v1/chat/completions")
                .body(reactor.core.publisher.Flux.concat(
                        reactor.core.publisher.Mono.just(org.springframework.core.io.buffer.DefaultDataBufferFactory
                                .sharedInstance.wrap("{\"mess".getBytes(StandardCharsets.UTF_8))),
                        reactor.core.publisher.Flux.never()));
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> JsonResponses.readBody(stalled, settings(1024)).block(Duration.ofSeconds(10)))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(408);
                    assertThat(e.code()).isEqualTo("request_timeout");
                    assertThat(e.getMessage()).contains("llm.api.body-timeout");
                });
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(8));
    }

    /** JSON only (a page of another site may post text/plain without a preflight); no content coding. */
    @Test
    void aBodyOfAnotherTypeOrCodingIsA415() {
        for (String type : new String[] {"text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "application/xml"}) {
            assertThatThrownBy(() -> JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions")
                    .header("Content-Type", type).body("{}"), settings(1024)).block(Duration.ofSeconds(5)))
                    .as(type).satisfies(t -> assertThat(ApiErrors.from(t, null).status()).isEqualTo(415));
        }
        assertThatThrownBy(() -> JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions")
                .header("Content-Type", "application/json").header("Content-Encoding", "gzip").body("{}"),
                settings(1024)).block(Duration.ofSeconds(5)))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(415);
                    assertThat(e.code()).isEqualTo("unsupported_content_encoding");
                });
        for (String type : new String[] {"application/json", "application/json; charset=utf-8", "application/merge-patch+json"}) {
            assertThat(JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions")
                    .header("Content-Type", type).body("{}"), settings(1024)).block(Duration.ofSeconds(5))).as(type)
                    .hasSize(2);
        }
        assertThat(JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions").body("{}"), settings(1024))
                .block(Duration.ofSeconds(5))).as("no Content-Type: read as JSON").hasSize(2);
    }

    /**
     * Bodies being read at once are bounded in bytes: a chunk beyond is a 503 overloaded at once; the room comes back
     * when a body ends, however it ends.
     */
    @Test
    void bodiesBeyondTheBytesInFlightAre503AndTheRoomComesBack() {
        ApiSettings settings = settings(4096);   // a budget of 4 KiB
        JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions").contentLength(4000)
                .body(stalledAfter(4000)), settings);   // never subscribed: it takes no room
        reactor.core.Disposable reading = JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions")
                .contentLength(4000).body(stalledAfter(3000)), settings).subscribe(b -> { }, e -> { });
        assertOverloaded(MockServerHttpRequest.post("/v1/chat/completions").body("x".repeat(2000)), settings);
        reading.dispose();   // the stalled one ends (its client left): its room comes back
        assertThat(JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions").body("x".repeat(4096)),
                settings).block(Duration.ofSeconds(5))).as("the whole budget is free again").hasSize(4096);
    }

    /**
     * A body holds room only for the bytes it has sent: clients that declare a large Content-Length and then send
     * nothing (or stall part way) hold no room for the rest, so they cannot make every other request a 503.
     */
    @Test
    void aBodyHoldsRoomOnlyForTheBytesItHasSent() {
        ApiSettings settings = settings(4096);   // a budget of 4 KiB
        reactor.core.Disposable silent = JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions")
                .contentLength(4096).body(reactor.core.publisher.Flux.never()), settings).subscribe(b -> { }, e -> { });
        reactor.core.Disposable stalled = JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions")
                .contentLength(4096).body(stalledAfter(1024)), settings).subscribe(b -> { }, e -> { });
        assertThat(JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions").contentLength(3072)
                .body(chunks(1024, 1024, 1024)), settings).block(Duration.ofSeconds(5)))
                .as("3 KiB beside a silent body and one that sent 1 KiB").hasSize(3072);
        assertOverloaded(MockServerHttpRequest.post("/v1/chat/completions").body(chunks(1024, 1024, 1024, 1)),
                settings);
        silent.dispose();
        stalled.dispose();
        assertThat(JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions").body(chunks(2048, 2048)),
                settings).block(Duration.ofSeconds(5))).as("the refused body gave back the 3 KiB it held").hasSize(4096);
    }

    /** A body that times out (408) or is too large (413) part way gives back the room its chunks took. */
    @Test
    void aBodyThatFailsPartWayGivesItsRoomBack() {
        ApiSettings settings = settings(4096);
        assertThatThrownBy(() -> JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions")
                .body(stalledAfter(3000)), settings).block(Duration.ofSeconds(10)))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(408));
        assertThatThrownBy(() -> JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions")
                .body(chunks(3000, 2000)), settings).block(Duration.ofSeconds(5)))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(413));
        assertThat(JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions").body("x".repeat(4096)),
                settings).block(Duration.ofSeconds(5))).hasSize(4096);
    }

    /**
     * The body's room is held until what is made of it has run (a joined body waiting for a bounded-elastic thread,
     * then being parsed, is in memory still), and given back after it, by both forms of readBody.
     */
    @Test
    void theRoomIsHeldUntilTheWorkOnTheBodyHasRun() {
        ApiSettings settings = settings(4096);
        AtomicReference<Throwable> whileWorking = new AtomicReference<>();
        int parsed = JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions").body("x".repeat(3000)),
                settings, body -> {
                    try {
                        Thread.sleep(200);   // a while into the work (a parse of megabytes takes longer)
                        JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions")
                                .body("x".repeat(2000)), settings).block(Duration.ofSeconds(5));
                    } catch (RuntimeException e) {
                        whileWorking.set(e);
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                    return body.length;
                }).block(Duration.ofSeconds(5));
        assertThat(parsed).isEqualTo(3000);
        assertThat(whileWorking.get()).as("another body, while the first is worked on")
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo("overloaded"));
        assertThat(JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions").body("x".repeat(4096)),
                settings).block(Duration.ofSeconds(5))).as("given back after the work").hasSize(4096);
        assertThat(JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions").body("x".repeat(4096)),
                settings).block(Duration.ofSeconds(5))).as("and after the two-argument form").hasSize(4096);
        assertThatThrownBy(() -> JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions")
                .body("x".repeat(4096)), settings, body -> {
                    throw ApiException.invalid("messages", "invalid_value", "bad (test)");
                }).block(Duration.ofSeconds(5))).isInstanceOf(ApiException.class);
        assertThat(JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions").body("x".repeat(4096)),
                settings).block(Duration.ofSeconds(5))).as("and after work that failed").hasSize(4096);
    }

    private static void assertOverloaded(MockServerHttpRequest request, ApiSettings settings) {
        assertThatThrownBy(() -> JsonResponses.readBody(request, settings).block(Duration.ofSeconds(5)))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(503);
                    assertThat(e.code()).isEqualTo("overloaded");
                    assertThat(e.getMessage()).contains("llm.api.max-body-bytes-in-flight");
                });
    }

    /** {@code bytes} bytes in one chunk, then nothing more. */
    private static reactor.core.publisher.Flux<org.springframework.core.io.buffer.DataBuffer> stalledAfter(int bytes) {
        return reactor.core.publisher.Flux.concat(chunks(bytes), reactor.core.publisher.Flux.never());
    }

    /** One chunk of each size, of 'x's. */
    private static reactor.core.publisher.Flux<org.springframework.core.io.buffer.DataBuffer> chunks(int... sizes) {
        return reactor.core.publisher.Flux.fromArray(java.util.Arrays.stream(sizes).boxed().toArray(Integer[]::new))
                .map(n -> org.springframework.core.io.buffer.DefaultDataBufferFactory.sharedInstance
                        .wrap("x".repeat(n).getBytes(StandardCharsets.UTF_8)));
    }
}
