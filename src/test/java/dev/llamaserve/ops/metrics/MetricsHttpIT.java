package dev.llamaserve.ops.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.api.openai.RealEngineWebTest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;

/**
 * {@code /actuator/prometheus} scraped around real chat completions on the REAL engine (demo checkpoint):
 * every metric under llama-serve's names and vLLM's exact names, counters moved by exactly the token counts the
 * responses' {@code usage} reported, finish-reason labels, histogram counts, live gauges, disconnects, and
 * in-process Spring AI calls.
 */
class MetricsHttpIT extends RealEngineWebTest {

    private static final String M = "{model_name=\"" + MODEL + "\"}";

    @Autowired
    private ChatModel chatModel;

    private PrometheusScrape scrape() throws Exception {
        HttpResponse<String> r = get("/actuator/prometheus");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
        return PrometheusScrape.parse(r.body());
    }

    @Test
    void everyMetricNameIsExportedExactly() throws Exception {
        PrometheusScrape s = scrape();
        s.text().lines().filter(l -> l.startsWith("vllm:") && !l.contains("_bucket")).forEach(System.out::println);
        assertThat(s.families()).contains("vllm:num_requests_waiting", "vllm:num_requests_running",
                "vllm:kv_cache_usage_perc", "vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds",
                "vllm:e2e_request_latency_seconds", "vllm:prompt_tokens_total", "vllm:generation_tokens_total",
                "vllm:request_success_total", "vllm:num_preemptions_total",
                "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total",
                "llm_prefix_cache_queries_total", "llm_prefix_cache_hits_total",
                "llm_time_to_first_token_seconds", "llm_inter_token_latency_seconds", "llm_e2e_request_latency_seconds",
                "llm_requests_waiting", "llm_requests_running", "llm_kv_cache_usage_ratio", "llm_preemptions_total",
                "llm_prompt_tokens_total", "llm_generation_tokens_total", "llm_requests_finished_total",
                "llm_client_disconnects_total", "llm_ratelimit_refusals_total", "llm_overload_refusals_total",
                "llm_http_refusals_total");
        assertThat(s.value("vllm:num_requests_waiting" + M)).isZero();
        assertThat(s.value("vllm:num_requests_running" + M)).isZero();
        assertThat(s.value("vllm:kv_cache_usage_perc" + M)).isBetween(0.0, 1.0);
        assertThat(s.value("vllm:num_preemptions_total" + M)).isGreaterThanOrEqualTo(0.0);
        for (String reason : List.of("stop", "length", "abort", "error")) {
            s.value("vllm:request_success_total{finished_reason=\"" + reason + "\",model_name=\"" + MODEL + "\"}");
            s.value("llm_requests_finished_total{finish_reason=\"" + reason + "\"}");
        }
        assertThat(s.value("vllm:time_to_first_token_seconds_bucket{model_name=\"" + MODEL + "\",le=\"0.001\"}"))
                .isGreaterThanOrEqualTo(0.0);
        s.value("llm_ratelimit_refusals_total{type=\"requests\"}");
        s.value("llm_ratelimit_refusals_total{type=\"tokens\"}");
        s.value("llm_overload_refusals_total{source=\"concurrency_limit\"}");
        s.value("llm_overload_refusals_total{source=\"engine_queue\"}");
        s.value("llm_http_refusals_total{status=\"429\"}");
        s.value("llm_http_refusals_total{status=\"503\"}");
        // nothing under a rewritten vLLM name
        assertThat(s.text()).doesNotContain("vllm_").doesNotContain("vllm:prompt_tokens_total_total");
    }

    @Test
    void completionsMoveCountersByTheirUsageAndHistogramsByOnePerRequest() throws Exception {
        PrometheusScrape before = scrape();
        HttpResponse<String> plain = post("/v1/chat/completions", chat(greedy(5)));
        assertThat(plain.statusCode()).isEqualTo(200);
        JsonNode usage1 = json(plain.body()).get("usage");
        HttpResponse<String> streamed = post("/v1/chat/completions",
                chat(greedy(4) + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertThat(streamed.statusCode()).isEqualTo(200);
        JsonNode usage2 = streamUsage(streamed.body());
        int prompt = usage1.get("prompt_tokens").asInt() + usage2.get("prompt_tokens").asInt();
        int generated = usage1.get("completion_tokens").asInt() + usage2.get("completion_tokens").asInt();
        assertThat(generated).isEqualTo(9);
        PrometheusScrape after = awaitScrape(s -> delta(before, s, "vllm:e2e_request_latency_seconds_count" + M) >= 2);

        assertThat(delta(before, after, "vllm:prompt_tokens_total" + M)).isEqualTo(prompt);
        assertThat(delta(before, after, "vllm:generation_tokens_total" + M)).isEqualTo(generated);
        assertThat(delta(before, after, "llm_prompt_tokens_total")).isEqualTo(prompt);
        assertThat(delta(before, after, "llm_generation_tokens_total")).isEqualTo(generated);
        assertThat(delta(before, after, "llm_key_tokens_total{key_id=\"anonymous\",type=\"prompt\"}")).isEqualTo(prompt);
        assertThat(delta(before, after, "llm_key_tokens_total{key_id=\"anonymous\",type=\"completion\"}"))
                .isEqualTo(generated);
        String length = "{finished_reason=\"length\",model_name=\"" + MODEL + "\"}";
        assertThat(delta(before, after, "vllm:request_success_total" + length)).isEqualTo(2);
        assertThat(delta(before, after, "llm_requests_finished_total{finish_reason=\"length\"}")).isEqualTo(2);
        assertThat(delta(before, after, "llm_requests_finished_total{finish_reason=\"stop\"}")).isZero();
        for (String h : List.of("vllm:time_to_first_token_seconds", "vllm:e2e_request_latency_seconds")) {
            assertThat(delta(before, after, h + "_count" + M)).as(h).isEqualTo(2);
            assertThat(delta(before, after, h + "_bucket{model_name=\"" + MODEL + "\",le=\"+Inf\"}")).as(h).isEqualTo(2);
            assertThat(delta(before, after, h + "_sum" + M)).as(h).isPositive();
        }
        // one gap per token after the first of each request
        assertThat(delta(before, after, "vllm:inter_token_latency_seconds_count" + M)).isEqualTo(generated - 2);
        assertThat(delta(before, after, "llm_time_to_first_token_seconds_count")).isEqualTo(2);
        assertThat(delta(before, after, "llm_inter_token_latency_seconds_count")).isEqualTo(generated - 2);
        assertThat(delta(before, after, "llm_e2e_request_latency_seconds_count")).isEqualTo(2);
        // the e2e latency of a request is at least its time to first token
        assertThat(delta(before, after, "vllm:e2e_request_latency_seconds_sum" + M))
                .isGreaterThanOrEqualTo(delta(before, after, "vllm:time_to_first_token_seconds_sum" + M));
    }

    @Test
    void springAiCallersAreMeteredLikeHttpOnes() throws Exception {
        PrometheusScrape before = scrape();
        ChatResponse response = chatModel.call(new Prompt("Hi", ChatOptions.builder().temperature(0.0).maxTokens(3)
                .build()));
        PrometheusScrape after = awaitScrape(s -> delta(before, s, "vllm:e2e_request_latency_seconds_count" + M) >= 1);
        assertThat(delta(before, after, "vllm:prompt_tokens_total" + M))
                .isEqualTo(response.getMetadata().getUsage().getPromptTokens().doubleValue());
        assertThat(delta(before, after, "llm_generation_tokens_total"))
                .isEqualTo(response.getMetadata().getUsage().getCompletionTokens().doubleValue());
        assertThat(delta(before, after, "vllm:time_to_first_token_seconds_count" + M)).isEqualTo(1);
        String anonymous = "llm_key_tokens_total{key_id=\"anonymous\",type=\"prompt\"}";
        assertThat(after.valueOr0(anonymous) - before.valueOr0(anonymous)).as("per-key counters are HTTP only").isZero();
    }

    @Test
    void gaugesShowARunningRequestAndADisconnectIsCounted() throws Exception {
        PrometheusScrape before = scrape();
        try (Socket socket = new Socket("localhost", port)) {
            byte[] body = chat(greedy(3000) + ",\"stream\":true").getBytes(StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            out.write(body);
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null && !line.startsWith("data: {")) {
                // headers, until the first chunk: the request is in the engine
            }
            assertThat(line).isNotNull();
            PrometheusScrape running = awaitScrape(s -> s.value("vllm:num_requests_running" + M) == 1.0);
            assertThat(running.value("vllm:num_requests_running" + M)).isEqualTo(1.0);
            assertThat(running.value("llm_requests_running")).isEqualTo(1.0);
            assertThat(running.value("vllm:kv_cache_usage_perc" + M)).isGreaterThan(0.0).isLessThanOrEqualTo(1.0);
            assertThat(running.value("llm_kv_cache_usage_ratio")).isGreaterThan(0.0);
            socket.setSoLinger(true, 0);
        }
        // the three counters are separate meters, incremented one after the other: wait until a scrape has all three
        String vllmAborts = "vllm:request_success_total{finished_reason=\"abort\",model_name=\"" + MODEL + "\"}";
        PrometheusScrape after = awaitScrape(s -> delta(before, s, "llm_client_disconnects_total") >= 1
                && delta(before, s, "llm_requests_finished_total{finish_reason=\"abort\"}") >= 1
                && delta(before, s, vllmAborts) >= 1);
        assertThat(delta(before, after, "llm_client_disconnects_total")).isEqualTo(1);
        assertThat(delta(before, after, vllmAborts)).isEqualTo(1);
        awaitIdle(Duration.ofSeconds(5));
        PrometheusScrape idle = scrape();
        assertThat(idle.value("vllm:num_requests_running" + M)).isZero();
        assertThat(idle.value("vllm:kv_cache_usage_perc" + M)).isZero();
    }

    private static double delta(PrometheusScrape before, PrometheusScrape after, String series) {
        return after.value(series) - before.valueOr0(series);
    }

    private PrometheusScrape awaitScrape(java.util.function.Predicate<PrometheusScrape> done) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        PrometheusScrape s = scrape();
        while (!done.test(s) && System.nanoTime() < deadline) {
            Thread.sleep(20);
            s = scrape();
        }
        return s;
    }

    private static JsonNode streamUsage(String body) {
        return body.lines().filter(l -> l.startsWith("data: {") && l.contains("\"usage\":{"))
                .map(l -> json(l.substring("data: ".length())).get("usage")).reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError("no usage chunk in " + body));
    }
}
