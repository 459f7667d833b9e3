package dev.llamaserve.ops.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.api.openai.ScriptedEngine;
import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineException;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.SamplingParams;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.adapter.JdkFlowAdapter;
import reactor.core.publisher.Flux;

/**
 * The metering decorator's bookkeeping on scripted event streams (the real-engine scrape is in
 * {@link MetricsHttpIT}): the paths a real server rarely hits deterministically - an abort of a stream nobody
 * subscribed, a cancel mid-stream, a full queue - each counted once, and ended traces kept bounded.
 */
class MeteredInferenceEngineTest {

    private static LlamaTokenizer tokenizer;

    private SimpleMeterRegistry registry;
    private ScriptedEngine scripted;
    private MeteredInferenceEngine engine;

    @BeforeAll
    static void loadTokenizer() throws Exception {
        tokenizer = LlamaTokenizer.load(Path.of(MeteredInferenceEngineTest.class.getResource("/fixtures/tiny-llama31").toURI()));
    }

    @BeforeEach
    void setUp() {
        registry = new SimpleMeterRegistry();
        scripted = new ScriptedEngine(tokenizer);
        engine = new MeteredInferenceEngine(scripted, new ServingMetrics(registry, new PrometheusRegistry(), "m"),
                new RefusalMetrics(registry));
    }

    private static GenerationRequest request() {
        return new GenerationRequest("r-" + UUID.randomUUID(), new int[] {1, 2, 3, 4, 5}, SamplingParams.defaults());
    }

    private double count(String name, String... tags) {
        return registry.get(name).tags(tags).counter().count();
    }

    @Test
    void aWholeStreamIsMeteredOnce() {
        GenerationRequest r = request();
        List<EngineEvent> events = JdkFlowAdapter.flowPublisherToFlux(engine.submit(r)).collectList().block();
        EngineEvent.Finished f = (EngineEvent.Finished) events.get(events.size() - 1);
        assertThat(registry.get("llm.time.to.first.token").timer().count()).isEqualTo(1);
        assertThat(registry.get("llm.inter.token.latency").timer().count()).isEqualTo(2); // 3 token events
        assertThat(registry.get("llm.e2e.request.latency").timer().count()).isEqualTo(1);
        assertThat(count("llm.requests.finished", "finish_reason", "stop")).isEqualTo(1);
        assertThat(count("llm.prompt.tokens")).isEqualTo(5);
        assertThat(count("llm.generation.tokens")).isEqualTo(f.usage().completionTokens());
        assertThat(count("llm.client.disconnects")).isZero();
        RequestTrace.Summary s = engine.trace(r.requestId());
        assertThat(s.finishReason()).isEqualTo("stop");
        assertThat(s.completionTokens()).isEqualTo(f.usage().completionTokens());
        assertThat(s.ttftNanos()).isNotNegative();
        assertThat(engine.trace(r.requestId())).as("read once").isNull();
        assertThat(engine.inFlight()).isZero();
    }

    /**
     * n > 1: the choices' events interleave, but a client of one choice sees its tokens only as far apart as that
     * choice's events (vLLM meters each child request): gaps within each choice, one time to first token.
     */
    @Test
    void interTokenGapsAreMeasuredWithinEachChoice() {
        RequestTrace t = new RequestTrace("r", 5, 0);
        assertThat(t.tokens(choice(0), 10)).isEqualTo(RequestTrace.FIRST);
        assertThat(t.tokens(choice(1), 15)).isEqualTo(RequestTrace.CHOICE_FIRST);
        assertThat(t.tokens(choice(0), 20)).isEqualTo(10);
        assertThat(t.tokens(choice(1), 25)).isEqualTo(10);
        assertThat(t.tokens(choice(3), 27)).isEqualTo(RequestTrace.CHOICE_FIRST);
        assertThat(t.tokens(choice(1), 31)).isEqualTo(6);
        assertThat(t.ttftNanos()).isEqualTo(10);
    }

    private static EngineEvent.Tokens choice(int index) {
        return new EngineEvent.Tokens(new int[] {7}, "x", List.of(), index);
    }

    @Test
    void abortingAStreamNobodySubscribedEndsItAsADisconnect() {
        GenerationRequest r = request();
        engine.submit(r);
        assertThat(engine.abort(r.requestId())).isTrue();
        engine.abort(r.requestId());
        assertThat(scripted.aborted).contains(r.requestId());
        assertThat(count("llm.client.disconnects")).isEqualTo(1);
        assertThat(count("llm.requests.finished", "finish_reason", "abort")).isEqualTo(1);
        assertThat(count("llm.prompt.tokens")).as("nothing was prefilled that anyone saw").isZero();
        assertThat(engine.trace(r.requestId())).satisfies(s -> {
            assertThat(s.finishReason()).isEqualTo("abort");
            assertThat(s.disconnected()).isTrue();
        });
        assertThat(engine.inFlight()).isZero();
    }

    @Test
    void cancellingMidStreamIsOneDisconnectAndOneAbortedRequest() {
        scripted.script = req -> Flux.concat(Flux.just(scripted.tokens("Hello")), Flux.never());
        GenerationRequest r = request();
        List<EngineEvent> first = JdkFlowAdapter.flowPublisherToFlux(engine.submit(r)).take(1).collectList().block();
        assertThat(first).hasSize(1);
        assertThat(scripted.cancelled).contains(r.requestId());
        assertThat(count("llm.client.disconnects")).isEqualTo(1);
        assertThat(count("llm.requests.finished", "finish_reason", "abort")).isEqualTo(1);
        assertThat(count("llm.generation.tokens")).isEqualTo(((EngineEvent.Tokens) first.get(0)).tokenIds().length);
        assertThat(count("llm.prompt.tokens")).isEqualTo(5);
        assertThat(engine.inFlight()).isZero();
    }

    @Test
    void aFullQueueIsAnEngineQueueRefusal() {
        scripted.submitError = new EngineException.Overloaded("queue full (test)");
        GenerationRequest r = request();
        assertThatThrownBy(() -> engine.submit(r)).isInstanceOf(EngineException.Overloaded.class);
        assertThat(count("llm.overload.refusals", "source", "engine_queue")).isEqualTo(1);
        assertThat(count("llm.overload.refusals", "source", "concurrency_limit")).isZero();
        assertThat(engine.inFlight()).as("a refused request leaves no trace").isZero();
        assertThat(engine.trace(r.requestId())).isNull();
    }

    /**
     * The caller goes away while its submit is still running on another thread (HTTP requests are submitted off the
     * event loop): the engine has registered the request, so the abort finds it, and it must find its trace too. It
     * is played here from inside the engine's submit, right after the request was registered.
     */
    @Test
    void anAbortWhileTheSubmitIsRunningIsOneDisconnectAndEndsTheTrace() {
        scripted.script = req -> {
            assertThat(engine.abort(req.requestId())).isTrue();
            return Flux.never();
        };
        GenerationRequest r = request();
        engine.submit(r);
        assertThat(count("llm.client.disconnects")).isEqualTo(1);
        assertThat(count("llm.requests.finished", "finish_reason", "abort")).isEqualTo(1);
        assertThat(engine.inFlight()).as("the trace ended; none stays live for ever").isZero();
        assertThat(engine.trace(r.requestId()).disconnected()).isTrue();
    }

    /** A refused submit takes back only its own trace: a live request of the same id keeps its trace. */
    @Test
    void aRefusedSubmitOfAnIdInUseLeavesTheLiveRequestsTrace() {
        GenerationRequest r = request();
        engine.submit(r);
        scripted.submitError = new IllegalStateException("request id in use (test)");
        assertThatThrownBy(() -> engine.submit(r)).isInstanceOf(IllegalStateException.class);
        assertThat(engine.inFlight()).isEqualTo(1);
        engine.abort(r.requestId());
        assertThat(count("llm.client.disconnects")).isEqualTo(1);
        assertThat(engine.inFlight()).isZero();
    }

    @Test
    void endedTracesNobodyReadsStayBounded() {
        for (int i = 0; i < MeteredInferenceEngine.KEEP_ENDED_TRACES + 500; i++) {
            JdkFlowAdapter.flowPublisherToFlux(engine.submit(request())).blockLast();
        }
        assertThat(engine.inFlight()).isZero();
        assertThat(engine.endedTraces()).isEqualTo(MeteredInferenceEngine.KEEP_ENDED_TRACES);
    }
}
