package dev.llamaserve.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.ops.limits.ConcurrencyLimitFilter;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * Clients that send too slowly and browsers on other origins, over real sockets: a body that stalls half-sent is
 * a 408 after {@code llm.api.body-timeout} (3 s here) and frees its admission slot (it held it for ever: as many
 * stalled sockets as {@code llm.ops.max-concurrent-requests} refused every other request); CORS for the origins of
 * {@code llm.api.cors-allowed-origins}, with the preflight answered before the API key is asked for.
 */
class SlowClientsHttpIT extends OpsWebTest {

    @Autowired
    ConcurrencyLimitFilter limiter;

    @Test
    void stalledBodiesAre408AndTheirSlotsAreFreed() throws Exception {
        List<Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_CONCURRENT; i++) {
                Socket s = new Socket("localhost", port);
                s.setSoTimeout(30_000);
                OutputStream out = s.getOutputStream();
                out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
                        + PLAIN_KEY + "\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"messa")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                stalled.add(s);
            }
            // every stalled request holds its slot now: waited for, not slept for (a loaded machine may take longer
            // than a fixed sleep to read their heads, and the request below would then take a free slot)
            long deadline = System.nanoTime() + java.time.Duration.ofSeconds(30).toNanos();
            while (limiter.inFlight() < MAX_CONCURRENT && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(limiter.inFlight()).as("the stalled requests hold every slot").isEqualTo(MAX_CONCURRENT);
            HttpResponse<String> refused = send("POST", "/v1/chat/completions", SECOND_PLAIN_KEY,
                    chat("\"max_tokens\":1"));
            assertOpenAiError(refused, 503, "server_error", "overloaded");

            for (Socket s : stalled) {
                String head = readResponse(s.getInputStream());
                assertThat(head).as("the stalled request's answer").startsWith("HTTP/1.1 408")
                        .contains("request_timeout").contains("llm.api.body-timeout");
            }
            HttpResponse<String> served = send("POST", "/v1/chat/completions", SECOND_PLAIN_KEY,
                    chat("\"max_tokens\":1"));
            assertThat(served.statusCode()).as(served.body()).isEqualTo(200);
        } finally {
            for (Socket s : stalled) {
                s.close();
            }
        }
    }

    @Test
    void anAllowedOriginsPreflightIsAnsweredWithoutAKeyAndItsRequestsCarryCorsHeaders() throws Exception {
        HttpResponse<String> preflight = http.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(baseUrl() + "/v1/chat/completions"))
                .method("OPTIONS", java.net.http.HttpRequest.BodyPublishers.noBody())
                .header("Origin", "http://localhost:5173")
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization,content-type,x-stainless-os").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(preflight.statusCode()).as("no key on a preflight: %s", preflight.body()).isEqualTo(200);
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).hasValue("http://localhost:5173");
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Methods")).hasValueSatisfying(
                v -> assertThat(v).contains("POST"));
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Headers")).hasValueSatisfying(
                v -> assertThat(v.toLowerCase()).contains("authorization"));

        HttpResponse<String> call = http.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(baseUrl() + "/v1/models"))
                .header("Origin", "http://localhost:5173").header("Authorization", "Bearer " + PLAIN_KEY).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(call.statusCode()).isEqualTo(200);
        assertThat(call.headers().firstValue("Access-Control-Allow-Origin")).hasValue("http://localhost:5173");
        assertThat(call.headers().firstValue("Access-Control-Expose-Headers")).hasValueSatisfying(
                v -> assertThat(v).contains("x-ratelimit-remaining-requests"));

        HttpResponse<String> noKey = http.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(baseUrl() + "/v1/models")).header("Origin", "http://localhost:5173").build(),
                HttpResponse.BodyHandlers.ofString());
        assertOpenAiError(noKey, 401, "invalid_request_error", "invalid_api_key");

        HttpResponse<String> otherOrigin = http.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(baseUrl() + "/v1/chat/completions"))
                .method("OPTIONS", java.net.http.HttpRequest.BodyPublishers.noBody())
                .header("Origin", "https://evil.example")
                .header("Access-Control-Request-Method", "POST").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(otherOrigin.statusCode()).isEqualTo(403);
        assertThat(otherOrigin.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
    }

    /** One HTTP/1.1 response: its head and its Content-Length body. */
    private static String readResponse(InputStream in) throws Exception {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.append((char) b);
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
        byte[] body = m.find() ? in.readNBytes(Integer.parseInt(m.group(1))) : new byte[0];
        return head + new String(body, StandardCharsets.UTF_8);
    }
}
