package dev.llamaserve.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;

/**
 * {@code llm.ops.max-concurrent-requests-per-client=2} under the ops tests' room for 4 requests at once, over real
 * HTTP: one key sending 3 long streams at once holds 2 slots and gets a 429 for its third, while another key's 2
 * streams are still admitted (without the bound, the first key's third took the other key's slot, which then got
 * the server's 503). Its own Spring context (the ops tests' configuration plus that property).
 */
@TestPropertySource(properties = "llm.ops.max-concurrent-requests-per-client=" + ClientConcurrencyHttpIT.PER_CLIENT)
class ClientConcurrencyHttpIT extends OpsWebTest {

    static final int PER_CLIENT = 2;

    @Test
    void oneKeyHoldsAtMostItsShareAndAnotherKeyIsStillAdmitted() throws Exception {
        String refusals = "llm_ratelimit_refusals_total{type=\"concurrent_requests\"}";
        double before = metric(refusals);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        // long enough that no admitted stream ends before every request has arrived
        String body = chat("\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":800,\"stream\":true");
        List<CompletableFuture<HttpResponse<String>>> first = new ArrayList<>();
        List<CompletableFuture<HttpResponse<String>>> second = new ArrayList<>();
        for (int i = 0; i < PER_CLIENT + 1; i++) {
            first.add(client.sendAsync(request("POST", "/v1/chat/completions", "Bearer " + PLAIN_KEY, body),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (int i = 0; i < MAX_CONCURRENT - PER_CLIENT; i++) {
            second.add(client.sendAsync(request("POST", "/v1/chat/completions", "Bearer " + SECOND_PLAIN_KEY, body),
                    HttpResponse.BodyHandlers.ofString()));
        }
        int admitted = 0;
        for (CompletableFuture<HttpResponse<String>> call : first) {
            HttpResponse<String> r = call.get(120, TimeUnit.SECONDS);
            if (r.statusCode() == 200) {
                admitted++;
                assertThat(r.body()).as("streamed to its end").endsWith("data: [DONE]\n\n");
            } else {
                assertOpenAiError(r, 429, "requests", "rate_limit_exceeded");
                assertThat(r.body()).contains("llm.ops.max-concurrent-requests-per-client");
                assertThat(r.headers().firstValue("Retry-After")).hasValueSatisfying(
                        v -> assertThat(Long.parseLong(v)).isPositive());
            }
        }
        assertThat(admitted).as("the first key's streams admitted").isEqualTo(PER_CLIENT);
        for (CompletableFuture<HttpResponse<String>> call : second) {
            HttpResponse<String> r = call.get(120, TimeUnit.SECONDS);
            assertThat(r.statusCode()).as("the second key's stream: %s", r.body()).isEqualTo(200);
        }
        assertThat(metric(refusals) - before).as("the refusal counted").isEqualTo(1.0);

        HttpResponse<String> after = send("POST", "/v1/chat/completions", PLAIN_KEY, chat("\"max_tokens\":1"));
        assertThat(after.statusCode()).as("the key's slots given back: %s", after.body()).isEqualTo(200);
    }
}
