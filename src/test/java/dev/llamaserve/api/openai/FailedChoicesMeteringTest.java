package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.chat.ChatOptions;
import dev.llamaserve.chat.PromptDryRun;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.ops.metrics.MeteredInferenceEngine;
import dev.llamaserve.ops.metrics.RefusalMetrics;
import dev.llamaserve.ops.metrics.RequestTrace;
import dev.llamaserve.ops.metrics.ServingMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A request with n = 2 that the engine fails (or aborts) ends every choice, choice 0's {@code Finished} first, not
 * last: each endpoint answers the engine's error and reads the stream to its last {@code Finished}, so the metering
 * (the scripted engine wrapped in the real {@link MeteredInferenceEngine}) records the request's {@code error}, not a
 * client that went away (a disconnect, and an {@code abort}), and no abort is sent.
 */
class FailedChoicesMeteringTest {

    private SimpleMeterRegistry registry;
    private ScriptedEngine scripted;
    private MeteredInferenceEngine engine;
    private final ServedModel served = new ServedModel("meta-llama/Llama-3.1-8B-Instruct", List.of());
    private final ApiSettings settings = new ApiSettings(false, 1024 * 1024, Duration.ofSeconds(5),
            Duration.ofSeconds(1));

    @BeforeEach
    void setUp() {
        registry = new SimpleMeterRegistry();
        scripted = new ScriptedEngine(FixtureTokenizer.get());
        engine = new MeteredInferenceEngine(scripted, new ServingMetrics(registry, new PrometheusRegistry(), "m"),
                new RefusalMetrics(registry));
    }

    /** Both choices generate a token, then the engine ends both with {@code reason}, choice 0 first. */
    private void failBothChoices(EngineEvent.FinishReason reason) {
        scripted.script = r -> Flux.just(
                new EngineEvent.Tokens(scripted.ids("Hi"), "Hi", List.of(), 0),
                new EngineEvent.Tokens(scripted.ids("Yo"), "Yo", List.of(), 1),
                ended(r, reason, 0, false),
                ended(r, reason, 1, true));
    }

    private static EngineEvent.Finished ended(GenerationRequest r, EngineEvent.FinishReason reason, int index,
            boolean last) {
        return new EngineEvent.Finished(reason, new EngineEvent.Usage(r.promptTokenIds().length, 1), "", null,
                reason == EngineEvent.FinishReason.ERROR ? "CUDA out of memory (test)" : null, index, last);
    }

    private ChatCompletionsController chat() {
        ChatFormat format = new ChatFormat(FixtureTokenizer.get(), new ChatOptions(ChatOptions.DEFAULT_DATE, false, 256, ChatOptions.Enabled.TRUE));
        return new ChatCompletionsController(engine, format, served, settings, TokenAdmission.OPEN);
    }

    private CompletionsController completions() {
        ChatFormat format = new ChatFormat(FixtureTokenizer.get(), new ChatOptions(ChatOptions.DEFAULT_DATE, false, 256, ChatOptions.Enabled.TRUE));
        return new CompletionsController(engine, new PromptDryRun(FixtureTokenizer.get(), format), served, settings,
                TokenAdmission.OPEN);
    }

    private static MockServerWebExchange exchange(String path, String body) {
        MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.post(path)
                .contentType(MediaType.APPLICATION_JSON).body(body));
        exchange.getAttributes().put(RequestIdFilter.ATTRIBUTE, "failed-choices-test");
        return exchange;
    }

    private static final String CHAT = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"n\":2";
    private static final String COMPLETION = "{\"prompt\":\"Hi\",\"n\":2";

    @Test
    void aFailedNonStreamedChatIsA500MeteredAsAnErrorNotADisconnect() {
        assertA500MeteredAsAnError(exchange -> chat().create(exchange), exchange("/v1/chat/completions", CHAT + "}"));
    }

    @Test
    void aFailedNonStreamedCompletionIsA500MeteredAsAnErrorNotADisconnect() {
        assertA500MeteredAsAnError(exchange -> completions().create(exchange),
                exchange("/v1/completions", COMPLETION + "}"));
    }

    private void assertA500MeteredAsAnError(Function<MockServerWebExchange, Mono<Void>> create,
            MockServerWebExchange exchange) {
        failBothChoices(EngineEvent.FinishReason.ERROR);
        assertThatThrownBy(() -> create.apply(exchange).block(Duration.ofSeconds(10)))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(500));
        assertMeteredAs("error");
    }

    @Test
    void anAbortedNonStreamedCompletionIsA503MeteredAsTheEnginesAbortNotADisconnect() {
        failBothChoices(EngineEvent.FinishReason.ABORT);
        MockServerWebExchange exchange = exchange("/v1/completions", COMPLETION + "}");
        assertThatThrownBy(() -> completions().create(exchange).block(Duration.ofSeconds(10)))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(503);
                    assertThat(e.code()).isEqualTo("aborted");
                });
        assertMeteredAs("abort");
    }

    @Test
    void aFailedStreamedCompletionEndsWithOneErrorFrameMeteredAsAnErrorNotADisconnect() {
        assertAStreamEndingWithOneErrorMeteredAsAnError(exchange -> completions().create(exchange),
                exchange("/v1/completions", COMPLETION + ",\"stream\":true}"));
    }

    /** Chat streaming (ChatChoicesStream) sends its error frame at the failed choice and reads on to the end. */
    @Test
    void aFailedStreamedChatEndsWithOneErrorFrameMeteredAsAnErrorNotADisconnect() {
        assertAStreamEndingWithOneErrorMeteredAsAnError(exchange -> chat().create(exchange),
                exchange("/v1/chat/completions", CHAT + ",\"stream\":true}"));
    }

    private void assertAStreamEndingWithOneErrorMeteredAsAnError(Function<MockServerWebExchange, Mono<Void>> create,
            MockServerWebExchange exchange) {
        failBothChoices(EngineEvent.FinishReason.ERROR);
        create.apply(exchange).block(Duration.ofSeconds(10));
        assertThat(exchange.getResponse().getStatusCode().value()).isEqualTo(200);
        List<String> data = Sse.data(exchange.getResponse().getBodyAsString().block(Duration.ofSeconds(5)));
        assertThat(data.get(data.size() - 1)).isEqualTo("[DONE]");
        assertThat(data.stream().filter(d -> d.contains("\"error\"")).toList()).hasSize(1)
                .allSatisfy(d -> assertThat(d).contains("internal_error").doesNotContain("CUDA"));
        assertMeteredAs("error");
    }

    /**
     * The request's one trace ended with the engine's {@code reason}, no client disconnect was counted (the access
     * log's client_closed reads the trace's), and the endpoint sent no abort: the request had finished.
     */
    private void assertMeteredAs(String reason) {
        assertThat(scripted.submitted).hasSize(1);
        String id = scripted.submitted.get(0).requestId();
        assertThat(registry.get("llm.client.disconnects").counter().count()).isZero();
        assertThat(registry.get("llm.requests.finished").tags("finish_reason", reason).counter().count())
                .isEqualTo(1);
        assertThat(registry.find("llm.requests.finished").counters().stream().mapToDouble(c -> c.count()).sum())
                .as("one end, counted once").isEqualTo(1);
        RequestTrace.Summary trace = engine.trace(id);
        assertThat(trace.finishReason()).isEqualTo(reason);
        assertThat(trace.disconnected()).isFalse();
        assertThat(scripted.aborted).isEmpty();
    }
}
