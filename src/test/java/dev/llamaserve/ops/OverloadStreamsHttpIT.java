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

/**
 * 4× the admitted capacity ({@code llm.ops.max-concurrent-requests=4}) in concurrent streaming requests over
 * real HTTP: every admitted one streams to its end, every other is refused at once with 503/429, Retry-After,
 * retry-after-ms and an OpenAI body; no other status, no hang.
 */
class OverloadStreamsHttpIT extends OpsWebTest {

    @Test
    void fourTimesCapacityInConcurrentStreams() throws Exception {
        int total = 4 * MAX_CONCURRENT;
        String limitRefusals = "llm_overload_refusals_total{source=\"concurrency_limit\"}";
        double before = metric(limitRefusals);
        int byTheLimit = 0;
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        // long enough that no admitted stream ends before every request has arrived
        String body = chat("\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":800,\"stream\":true");
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < total; i++) {
            String key = i % 2 == 0 ? PLAIN_KEY : SECOND_PLAIN_KEY;
            calls.add(client.sendAsync(request("POST", "/v1/chat/completions", "Bearer " + key, body),
                    HttpResponse.BodyHandlers.ofString()));
        }
        int admitted = 0;
        int refused = 0;
        for (CompletableFuture<HttpResponse<String>> call : calls) {
            HttpResponse<String> r = call.get(120, TimeUnit.SECONDS);
            if (r.statusCode() == 200) {
                admitted++;
                assertThat(r.body()).as("streamed to its end").contains("\"finish_reason\":\"length\"")
                        .endsWith("data: [DONE]\n\n");
            } else {
                refused++;
                assertThat(r.statusCode()).as(r.body()).isIn(429, 503);
                assertOpenAiError(r, r.statusCode(), r.statusCode() == 503 ? "server_error" : "requests",
                        r.statusCode() == 503 ? "overloaded" : "rate_limit_exceeded");
                assertThat(r.headers().firstValue("Retry-After")).hasValueSatisfying(
                        v -> assertThat(Long.parseLong(v)).isPositive());
                assertThat(r.headers().firstValue("retry-after-ms")).hasValueSatisfying(
                        v -> assertThat(Long.parseLong(v)).isPositive());
                byTheLimit += r.body().contains("llm.ops.max-concurrent-requests") ? 1 : 0;
            }
        }
        assertThat(admitted).as("admitted").isEqualTo(MAX_CONCURRENT);
        assertThat(refused).as("refused").isEqualTo(total - MAX_CONCURRENT);
        assertThat(byTheLimit).as("refused by the concurrency limit").isPositive();
        assertThat(metric(limitRefusals) - before).as("each counted").isEqualTo((double) byTheLimit);

        HttpResponse<String> after = send("POST", "/v1/chat/completions", PLAIN_KEY, chat("\"max_tokens\":1"));
        assertThat(after.statusCode()).as("slots given back: %s", after.body()).isEqualTo(200);
    }
}
