package dev.llamaserve.ops.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.LlamaServeApplication;
import dev.llamaserve.config.ModelLoadHooks;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.testing.ControlledLm;
import dev.llamaserve.ops.health.ProbePaths;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.test.annotation.DirtiesContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The lifecycle of the REAL server around the REAL model load and engine, over real HTTP: a deliberately
 * slowed load (the weight load waits at its first tensor), the warm-up generation (its forward pass held at a
 * gate), serving, a stalled engine, and an injected forward-pass failure. One context of its own (the engine
 * ends failed), closed after the test.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        classes = {LlamaServeApplication.class, LifecycleHttpIT.Hooks.class},
        properties = {
                "llm.engine.max-model-len=4096",
                "llm.ops.stall-timeout=1s",
                "llm.api.retry-after=2s"
        })
@DirtiesContext
class LifecycleHttpIT {

    static final String MODEL = "llama-3.1-demo-random";
    static final LoadHooks HOOKS = new LoadHooks();
    static final JsonMapper JSON = JsonMapper.builder().build();

    @TestConfiguration(proxyBeanMethods = false)
    static class Hooks {
        @Bean
        ModelLoadHooks loadHooks() {
            return HOOKS;
        }
    }

    @LocalServerPort
    int port;

    @Autowired
    InferenceEngine engine;

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void loadingWarmUpServingStallAndEngineFailure() throws Exception {
        whileLoadingTheProbesAndTheModelRoutesSayLoading();
        HOOKS.releaseLoad();
        ControlledLm lm = whileWarmingUpReadinessStaysDown();
        lm.gated(false);
        readyOnlyAfterTheWarmUpThenServes(lm);
        aStalledEngineIsNotLive(lm);
        anInjectedForwardFailureFailsStreamsAndTheEngine(lm);
    }

    private void whileLoadingTheProbesAndTheModelRoutesSayLoading() throws Exception {
        assertThat(HOOKS.awaitLoadReached(120)).as("the weight load started").isTrue();
        assertStatus(get(ProbePaths.LIVEZ), 200);
        assertThat(json(assertStatus(get(ProbePaths.READYZ), 503)).at("/components/engineReadiness/details/phase")
                .asString()).isEqualTo("LOADING");
        assertStatus(get("/actuator/health/liveness"), 200);
        assertStatus(get("/actuator/health/readiness"), 503);
        assertLoading(post("/v1/chat/completions", chat("\"max_tokens\":1")));
        assertLoading(post("/v1/chat/completions", chat("\"max_tokens\":1,\"stream\":true")));
        assertLoading(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}"));
        assertLoading(post("/tokenize", "{\"prompt\":\"x\"}"));
        assertLoading(post("/detokenize", "{\"tokens\":[1]}"));
        assertLoading(get("/v1/models"));
        // WebFlux routes these to the same controllers (matrix parameters left out, segments decoded)
        assertLoading(post("/tokenize;x=1", "{\"prompt\":\"x\"}"));
        assertLoading(post("/%761/chat/completions", chat("\"max_tokens\":1")));
        assertThat(engine.stats().state().name()).isEqualTo("LOADING");
    }

    private ControlledLm whileWarmingUpReadinessStaysDown() throws Exception {
        await("the warm-up's forward pass waits at the gate", 120,
                () -> HOOKS.model() != null && HOOKS.model().blocked());
        ControlledLm lm = HOOKS.model();
        assertThat(json(assertStatus(get(ProbePaths.READYZ), 503)).at("/components/engineReadiness/details/phase")
                .asString()).isEqualTo("WARMING_UP");
        assertLoading(post("/v1/chat/completions", chat("\"max_tokens\":1")));
        assertThat(lm.calls()).as("no forward pass has run yet").isZero();
        return lm;
    }

    private void readyOnlyAfterTheWarmUpThenServes(ControlledLm lm) throws Exception {
        await("readiness UP after the warm-up", 60, () -> status(ProbePaths.READYZ) == 200);
        assertThat(lm.calls()).as("the warm-up ran through the real engine").isGreaterThanOrEqualTo(1);
        assertStatus(get("/actuator/health/readiness"), 200);
        await("liveness UP", 10, () -> status(ProbePaths.LIVEZ) == 200);
        HttpResponse<String> r = post("/v1/chat/completions", chat("\"temperature\":0,\"max_tokens\":2"));
        assertStatus(r, 200);
        assertThat(json(r.body()).at("/usage/completion_tokens").asInt()).isBetween(1, 2);
    }

    private void aStalledEngineIsNotLive(ControlledLm lm) throws Exception {
        lm.gated(true);
        SseStream s = SseStream.open(http, uri("/v1/chat/completions"),
                chat("\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":8,\"stream\":true"));
        await("the engine is inside a step that does not end", 30, lm::blocked);
        await("liveness DOWN after llm.ops.stall-timeout (1s) with pending work (" + engine.stats() + ")", 15,
                () -> status(ProbePaths.LIVEZ) == 503);
        assertThat(get("/actuator/health/liveness").body()).contains("no engine step");
        lm.gated(false);
        await("liveness UP once the engine steps again", 15, () -> status(ProbePaths.LIVEZ) == 200);
        assertThat(s.ended.get(60, TimeUnit.SECONDS)).isEqualTo(200);
        assertThat(s.frames()).last().isEqualTo(SseStream.DONE);
        assertThat(s.errorAt).as("no error frame").isZero();
    }

    private void anInjectedForwardFailureFailsStreamsAndTheEngine(ControlledLm lm) throws Exception {
        List<SseStream> streams = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            streams.add(SseStream.open(http, uri("/v1/chat/completions"),
                    chat("\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":3000,\"stream\":true")));
        }
        await("both streams generating", 60, () -> engine.stats().running() == 2
                && streams.stream().allMatch(s -> s.frames().size() >= 2));
        long injected = System.nanoTime();
        lm.failWhen(batch -> true);
        for (SseStream s : streams) {
            assertThat(s.ended.get(30, TimeUnit.SECONDS)).isEqualTo(200);
            assertThat(s.errorAt).as("an error frame").isNotZero();
            assertThat(Duration.ofNanos(s.errorAt - injected)).as("error frame after the injected failure")
                    .isLessThan(Duration.ofSeconds(1));
            List<String> frames = s.frames();
            // the client gets the generic internal error with its request id; the detail stays in the server log
            assertThat(frames.get(frames.size() - 2)).contains("\"error\"").contains("internal_error")
                    .contains("request id").doesNotContain("forward pass failed");
            assertThat(frames).last().isEqualTo(SseStream.DONE);
        }
        // The failure persists: the engine gives up after consecutive failed steps and reports itself failed.
        for (int i = 0; i < 5 && status(ProbePaths.READYZ) == 200; i++) {
            post("/v1/chat/completions", chat("\"max_tokens\":1"));
        }
        assertThat(json(assertStatus(get(ProbePaths.READYZ), 503)).at("/components/engineReadiness/details/phase")
                .asString()).isEqualTo("FAILED");
        assertStatus(get(ProbePaths.LIVEZ), 503);
        assertStatus(get("/actuator/health/liveness"), 503);
        HttpResponse<String> refused = post("/v1/chat/completions", chat("\"max_tokens\":1"));
        assertStatus(refused, 503);
        assertThat(json(refused.body()).at("/error/code").asString()).isEqualTo("engine_failed");
    }

    // ------------------------------------------------------------------ helpers

    private static void assertLoading(HttpResponse<String> r) {
        assertStatus(r, 503);
        assertThat(r.headers().firstValue("Retry-After")).hasValue("2");
        JsonNode error = json(r.body()).get("error");
        assertThat(error.get("code").asString()).isEqualTo("model_loading");
        assertThat(error.get("type").asString()).isEqualTo("server_error");
        assertThat(error.get("message").asString()).isNotBlank();
    }

    private static String assertStatus(HttpResponse<String> r, int status) {
        assertThat(r.statusCode()).as("%s %s: %s", r.request().method(), r.request().uri().getPath(), r.body())
                .isEqualTo(status);
        return r.body();
    }

    private static JsonNode json(String body) {
        return JSON.readTree(body);
    }

    private static String chat(String extra) {
        return "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]," + extra + "}";
    }

    private URI uri(String path) {
        return URI.create("http://localhost:" + port + path);
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String json) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private int status(String path) {
        try {
            return get(path).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static void await(String what, int seconds, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime() < deadline).as("%s within %d s", what, seconds).isTrue();
            Thread.sleep(10);
        }
    }
}
