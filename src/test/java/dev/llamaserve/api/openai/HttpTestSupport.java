package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.llamaserve.engine.model.CpuFeatures;
import dev.llamaserve.ops.health.ProbePaths;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;

/** HTTP helpers shared by the web tests (real engine or scripted engine). */
public abstract class HttpTestSupport {

    @LocalServerPort
    protected int port;

    protected final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /**
     * The model loads in the background after the server started (and the model's routes answer 503 until
     * then): each test starts once the readiness probe says UP, as a load balancer would send it.
     */
    @BeforeEach
    void awaitReady() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        int status = -1;
        while (System.nanoTime() < deadline) {
            try {
                status = get(ProbePaths.READYZ).statusCode();
            } catch (IOException e) {
                status = -1;
            }
            if (status == 200) {
                return;
            }
            Thread.sleep(20);
        }
        assertThat(status).as("GET %s within 180 s", ProbePaths.READYZ).isEqualTo(200);
    }

    /**
     * Skips the calling test, saying why, where llama-serve's native bf16 kernels cannot run: a CPU without AVX2 and
     * FMA, the least they need (with them the bf16 linears take every step on AVX2's bodies, its bf16 linear on
     * AVX-512F where the CPU has that; AVX-512 BF16 and AMX take their own), or a build without gcc, which made no
     * kernels. These tests ran only with AVX-512 BF16 or AMX until a later stop, which ran them on an Ice Lake Xeon
     * with both of AVX2's bf16 bodies: they passed.
     */
    protected static void assumeNativeBf16Kernels() {
        List<String> flags = CpuFeatures.flags();
        assumeTrue(CpuFeatures.hasNativeBf16() || flags.contains("avx2") && flags.contains("fma"),
                "no AVX2 + FMA on this CPU");
        assumeTrue(HttpTestSupport.class.getResource("/dev/llamaserve/engine/model/native/libllamaserve_ops.so")
                != null, "the native kernels were not built (no gcc)");
    }

    /** The model id the requests name. */
    protected abstract String model();

    protected String baseUrl() {
        return "http://localhost:" + port;
    }

    protected WebTestClient client() {
        return WebTestClient.bindToServer().baseUrl(baseUrl()).responseTimeout(Duration.ofSeconds(60))
                .codecs(c -> c.defaultCodecs().maxInMemorySize(16 * 1024 * 1024)).build();
    }

    protected HttpResponse<String> post(String path, String json) throws IOException, InterruptedException {
        return post(path, json, Duration.ofSeconds(60));
    }

    /** A POST waiting up to {@code timeout} (long generations on a shared CPU). */
    protected HttpResponse<String> post(String path, String json, Duration timeout)
            throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(baseUrl() + path))
                .header("Content-Type", "application/json")
                .timeout(timeout)
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * {@code method path} (waiting up to 120 s) with this {@code Authorization} header (none when null) and JSON body
     * (none when null).
     */
    protected HttpRequest request(String method, String path, String authorization, String json) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(120));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        if (json == null) {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(json));
        }
        return b.build();
    }

    protected HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(60))
                .GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A chat request with one user message "Hi" and the given extra fields. */
    protected String chat(String extra) {
        return "{\"model\":\"" + model() + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]"
                + (extra.isEmpty() ? "" : "," + extra) + "}";
    }

    protected static JsonNode json(String s) {
        return OpenAiJson.MAPPER.readTree(s);
    }

    /**
     * A greedy chat completion of {@code maxTokens} tokens (EOS ignored), sent twice: both 200 with the same
     * non-empty content and {@code maxTokens} completion tokens, finished by length. Returns the first response.
     */
    protected JsonNode greedyChatTwice(int maxTokens) throws IOException, InterruptedException {
        String body = chat("\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":" + maxTokens);
        HttpResponse<String> r = post("/v1/chat/completions", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode j = json(r.body());
        String content = j.get("choices").get(0).get("message").get("content").asString();
        assertThat(content).isNotEmpty();
        assertThat(j.get("choices").get(0).get("finish_reason").asString()).isEqualTo("length");
        assertThat(j.get("usage").get("completion_tokens").asInt()).isEqualTo(maxTokens);
        HttpResponse<String> again = post("/v1/chat/completions", body);
        assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
        assertThat(json(again.body()).get("choices").get(0).get("message").get("content").asString())
                .as("greedy is deterministic").isEqualTo(content);
        return j;
    }
}
