package dev.llamaserve.ops.access;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.llamaserve.api.openai.RealEngineWebTest;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.JsonNode;

/**
 * The access log over real HTTP on the REAL engine: one line per request with every field, the token counts
 * and finish reason the response reported, and never the prompt or the output text (checked on the whole
 * console output, every logger).
 */
@ExtendWith(OutputCaptureExtension.class)
class AccessLogHttpIT extends RealEngineWebTest {

    private static final String SECRET = "Zebra-Quokka-7319 prompt text";

    @Autowired
    MeterRegistry meters;

    /** Chat requests in Spring's {@code http.server.requests} with this outcome. */
    private long chatRequests(String outcome) {
        return meters.find("http.server.requests").tag("uri", "/v1/chat/completions").tag("outcome", outcome)
                .timers().stream().mapToLong(Timer::count).sum();
    }

    private HttpResponse<String> post(String path, String json, String requestId) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(baseUrl() + path))
                .header("Content-Type", "application/json").header("X-Request-Id", requestId)
                .timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private String secretChat(String extra) {
        return "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + SECRET + "\"}],"
                + extra + "}";
    }

    @Test
    void oneLinePerCompletionWithEveryFieldAndNoText(CapturedOutput output) throws Exception {
        try (AccessLogCapture log = new AccessLogCapture()) {
            HttpResponse<String> r = post("/v1/chat/completions", secretChat(greedy(3)), "access-plain-1");
            assertThat(r.statusCode()).isEqualTo(200);
            JsonNode body = json(r.body());
            ILoggingEvent e = log.await("access-plain-1", Duration.ofSeconds(5));
            Map<String, Object> f = AccessLogCapture.fields(e);
            assertThat(f).containsOnlyKeys("request_id", "key_id", "method", "endpoint", "model", "status",
                    "prompt_tokens", "completion_tokens", "ttft_ms", "duration_ms", "finish_reason", "client_closed");
            assertThat(f).containsEntry("key_id", null).containsEntry("method", "POST")
                    .containsEntry("endpoint", "/v1/chat/completions").containsEntry("model", MODEL)
                    .containsEntry("status", 200)
                    .containsEntry("prompt_tokens", body.get("usage").get("prompt_tokens").asInt())
                    .containsEntry("completion_tokens", 3).containsEntry("finish_reason", "length")
                    .containsEntry("client_closed", false);
            long ttft = (Long) f.get("ttft_ms");
            assertThat(ttft).isGreaterThanOrEqualTo(0);
            assertThat((Long) f.get("duration_ms")).isGreaterThanOrEqualTo(ttft);
            assertThat(e.getLoggerName()).isEqualTo("llama-serve.access");
            assertThat(e.getFormattedMessage()).startsWith("request_id=access-plain-1 key_id=- method=POST "
                    + "endpoint=/v1/chat/completions model=" + MODEL + " status=200 prompt_tokens=")
                    .contains(" completion_tokens=3 ttft_ms=").contains(" finish_reason=length client_closed=false");

            // The capture above is the access logger's own appender: Logback calls it before the root's console
            // appender, on the server's thread, so the console line may still be on its way when the event is seen.
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (!output.getAll().contains("request_id=access-plain-1") && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(output.getAll()).contains("request_id=access-plain-1").doesNotContain("Zebra-Quokka");

            // the greedy answer above is a few U+FFFD (the demo's random weights pick byte tokens): sampled tokens
            // decode to text long enough that finding it anywhere in the console could only mean it was logged
            HttpResponse<String> longer = post("/v1/chat/completions",
                    secretChat("\"temperature\":1.0,\"seed\":7,\"ignore_eos\":true,\"max_tokens\":24"), "access-plain-2");
            assertThat(longer.statusCode()).isEqualTo(200);
            String answer = json(longer.body()).get("choices").get(0).get("message").get("content").asString().strip();
            assertThat(answer.replace("\uFFFD", "")).as("an answer with text to look for: %s", answer)
                    .hasSizeGreaterThanOrEqualTo(16);
            log.await("access-plain-2", Duration.ofSeconds(5));
            deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (!output.getAll().contains("request_id=access-plain-2") && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(output.getAll()).contains("request_id=access-plain-2").doesNotContain("Zebra-Quokka")
                    .doesNotContain(answer);
        }
    }

    /**
     * Clients that drop the connection: mid-stream (the response committed: 200, finish abort, client_closed) and
     * before any byte of a plain answer (499). A raw socket, closed at a known point.
     */
    @Test
    void aClientThatWentAwayIsLoggedAsClientClosed() throws Exception {
        long successes = chatRequests("SUCCESS");
        long unknown = chatRequests("UNKNOWN");
        try (AccessLogCapture log = new AccessLogCapture()) {
            try (java.net.Socket socket = send("access-gone-stream", "\"stream\":true")) {
                java.io.InputStream in = socket.getInputStream();
                StringBuilder seen = new StringBuilder();
                while (!seen.toString().contains("\"content\":\"")) {   // until the first token's chunk
                    int b = in.read();
                    assertThat(b).as("the stream ended before a token: %s", seen).isNotNegative();
                    seen.append((char) b);
                }
            }
            Map<String, Object> f = AccessLogCapture.fields(log.await("access-gone-stream", Duration.ofSeconds(30)));
            assertThat(f).containsEntry("status", 200).containsEntry("finish_reason", "abort")
                    .containsEntry("client_closed", true);
            // and Spring's HTTP server metrics record it as a request whose client left, not as a 200 success
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (chatRequests("UNKNOWN") == unknown && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(chatRequests("UNKNOWN")).isEqualTo(unknown + 1);
            assertThat(chatRequests("SUCCESS")).isEqualTo(successes);

            try (java.net.Socket socket = send("access-gone-plain", "\"stream\":false")) {
                Thread.sleep(500);   // the request is in the engine, the answer far from done
            }
            f = AccessLogCapture.fields(log.await("access-gone-plain", Duration.ofSeconds(30)));
            assertThat(f).containsEntry("status", 499).containsEntry("client_closed", true);
        }
    }

    /** A long completion request written to a new raw connection (the caller closes it). */
    private java.net.Socket send(String requestId, String extra) throws Exception {
        java.net.Socket socket = new java.net.Socket("127.0.0.1", URI.create(baseUrl()).getPort());
        socket.setSoTimeout(60_000);
        byte[] body = secretChat("\"max_tokens\":3000,\"ignore_eos\":true," + extra)
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "X-Request-Id: " + requestId + "\r\nContent-Length: " + body.length + "\r\n\r\n";
        socket.getOutputStream().write(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        socket.getOutputStream().write(body);
        socket.getOutputStream().flush();
        return socket;
    }

    @Test
    void streamsErrorsAndOtherRoutesAreLoggedProbesAndActuatorAreNot() throws Exception {
        try (AccessLogCapture log = new AccessLogCapture()) {
            HttpResponse<String> s = post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Once\","
                    + greedy(2) + ",\"stream\":true}", "access-stream-1");
            assertThat(s.statusCode()).isEqualTo(200);
            Map<String, Object> f = AccessLogCapture.fields(log.await("access-stream-1", Duration.ofSeconds(5)));
            assertThat(f).containsEntry("endpoint", "/v1/completions").containsEntry("status", 200)
                    .containsEntry("completion_tokens", 2).containsEntry("finish_reason", "length");
            assertThat((Integer) f.get("prompt_tokens")).isPositive();

            assertThat(post("/v1/chat/completions", chat(greedy(2)).replace(MODEL, "no-such-model"), "access-404")
                    .statusCode()).isEqualTo(404);
            assertThat(AccessLogCapture.fields(log.await("access-404", Duration.ofSeconds(5))))
                    .containsEntry("status", 404).containsEntry("prompt_tokens", null)
                    .containsEntry("finish_reason", null);

            assertThat(http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/v1/models"))
                    .header("X-Request-Id", "access-models").GET().build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).isEqualTo(200);
            assertThat(AccessLogCapture.fields(log.await("access-models", Duration.ofSeconds(5))))
                    .containsEntry("endpoint", "/v1/models").containsEntry("status", 200).containsEntry("model", null);

            assertThat(http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/actuator/prometheus"))
                    .header("X-Request-Id", "access-scrape").GET().build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).isEqualTo(200);
            Thread.sleep(200);
            assertThat(log.events()).noneMatch(e -> "access-scrape".equals(AccessLogCapture.fields(e).get("request_id")));
        }
    }
}
