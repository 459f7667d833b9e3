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
        byte[] body = JsonResponses.readBody(MockServerHttpRequest.post("/v1/chat/completions").body("{\"a\":1}"), 1024)
                .doOnNext(b -> thread.set(Thread.currentThread().getName()))
                .block(Duration.ofSeconds(5));
        assertThat(new String(body, StandardCharsets.UTF_8)).isEqualTo("{\"a\":1}");
        assertThat(thread.get()).startsWith("boundedElastic-");
    }

    @Test
    void aBodyOverTheLimitIsRefused() {
        assertThatThrownBy(() -> JsonResponses.readBody(MockServerHttpRequest.post("/v1/completions")
                .body("x".repeat(2000)), 1024).block(Duration.ofSeconds(5)))
                .isInstanceOf(ApiException.class);
    }
}
