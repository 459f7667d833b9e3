package dev.llamaserve.ops.access;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.api.openai.ApiException;
import dev.llamaserve.api.openai.ApiSettings;
import dev.llamaserve.api.openai.CompletionAttributes;
import dev.llamaserve.api.openai.RequestIdFilter;
import dev.llamaserve.ops.RequestAttributes;
import dev.llamaserve.ops.metrics.KeyTokenMetrics;
import dev.llamaserve.ops.metrics.RefusalMetrics;
import dev.llamaserve.ops.metrics.RequestTrace;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;
import org.springframework.web.server.WebFilterChain;
import org.springframework.web.util.pattern.PathPatternParser;
import reactor.core.publisher.Mono;

/**
 * The access-log filter on mock exchanges, for what the real server cannot produce before the auth and limits
 * code is merged: a key id set by a later filter, refusals signalled as errors by a later filter (status from the
 * one error map), and excluded paths (counted, not logged).
 */
class AccessLogFilterTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final RefusalMetrics refusals = new RefusalMetrics(registry);
    private final AccessLogFilter filter = new AccessLogFilter(ApiSettings.defaults(),
            id -> id.equals("cmpl-1") ? new RequestTrace.Summary("stop", 12, 7, 3_000_000, false)
                    : id.equals("cmpl-open") ? new RequestTrace.Summary(null, 12, 3, 2_000_000, false) : null,
            refusals, new KeyTokenMetrics(registry, 10),
            List.of(PathPatternParser.defaultInstance.parse("/livez")));

    private static MockServerWebExchange exchange(String path, String requestId) {
        MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.post(path));
        exchange.getAttributes().put(RequestIdFilter.ATTRIBUTE, requestId);
        return exchange;
    }

    @Test
    void keyIdFromALaterFilterAndTheCompletionsTraceAreLoggedAndCounted() throws Exception {
        MockServerWebExchange exchange = exchange("/v1/chat/completions", "unit-key-1");
        WebFilterChain chain = ex -> {
            ex.getAttributes().put(RequestAttributes.KEY_ID, "team-a");
            ex.getAttributes().put(CompletionAttributes.ENGINE_REQUEST_ID, "cmpl-1");
            ex.getAttributes().put(CompletionAttributes.MODEL, "llama3");
            ex.getResponse().setStatusCode(HttpStatus.OK);
            return Mono.empty();
        };
        try (AccessLogCapture log = new AccessLogCapture()) {
            filter.filter(exchange, chain).block();
            Map<String, Object> f = AccessLogCapture.fields(log.await("unit-key-1", Duration.ofSeconds(1)));
            assertThat(f).containsEntry("key_id", "team-a").containsEntry("model", "llama3")
                    .containsEntry("status", 200).containsEntry("prompt_tokens", 12)
                    .containsEntry("completion_tokens", 7).containsEntry("ttft_ms", 3L)
                    .containsEntry("finish_reason", "stop");
        }
        assertThat(registry.get("llm.key.tokens").tags("key_id", "team-a", "type", "prompt").counter().count())
                .isEqualTo(12);
        assertThat(registry.get("llm.key.tokens").tags("key_id", "team-a", "type", "completion").counter().count())
                .isEqualTo(7);
    }

    /**
     * A stream whose client left: the chain completes before its engine request finished (EngineExchange aborts it
     * right after this filter's end, and the engine trace does not know yet). Logged as the abort and the
     * disconnect it is, not as a 200 with no finish reason and client_closed false (seen in the full IT suite).
     */
    @Test
    void anExchangeThatEndsBeforeItsEngineRequestFinishedIsAClientThatLeft() throws Exception {
        WebFilterChain chain = ex -> {
            ex.getAttributes().put(CompletionAttributes.ENGINE_REQUEST_ID, "cmpl-open");
            ex.getResponse().setStatusCode(HttpStatus.OK);
            return ex.getResponse().setComplete();
        };
        try (AccessLogCapture log = new AccessLogCapture()) {
            filter.filter(exchange("/v1/chat/completions", "unit-open"), chain).block();
            assertThat(AccessLogCapture.fields(log.await("unit-open", Duration.ofSeconds(1))))
                    .containsEntry("status", 200).containsEntry("finish_reason", "abort")
                    .containsEntry("client_closed", true).containsEntry("completion_tokens", 3);
        }
    }

    @Test
    void refusalsSignalledAsErrorsGetTheErrorMapsStatusAndAreCountedButNotAProbesDown() throws Exception {
        try (AccessLogCapture log = new AccessLogCapture()) {
            Mono<Void> refused = filter.filter(exchange("/v1/chat/completions", "unit-429"),
                    ex -> Mono.error(ApiException.rateLimited("Rate limit exceeded (test)")));
            assertThat(refused.onErrorResume(e -> Mono.empty()).block()).isNull();
            assertThat(AccessLogCapture.fields(log.await("unit-429", Duration.ofSeconds(1))))
                    .containsEntry("status", 429).containsEntry("key_id", null);
            filter.filter(exchange("/v1/completions", "unit-503"), ex -> {
                ex.getResponse().setStatusCode(HttpStatus.SERVICE_UNAVAILABLE);
                return Mono.empty();
            }).block();
            assertThat(AccessLogCapture.fields(log.await("unit-503", Duration.ofSeconds(1))))
                    .containsEntry("status", 503);

            filter.filter(exchange("/livez", "unit-probe"), ex -> {
                ex.getResponse().setStatusCode(HttpStatus.SERVICE_UNAVAILABLE);
                return Mono.empty();
            }).block();
            assertThat(log.events()).noneMatch(e -> "unit-probe".equals(AccessLogCapture.fields(e).get("request_id")));
        }
        assertThat(registry.get("llm.http.refusals").tags("status", "429").counter().count()).isEqualTo(1);
        // the probe's 503 (loading, draining) is a health report: not a refusal, or every rollout would look like one
        assertThat(registry.get("llm.http.refusals").tags("status", "503").counter().count()).isEqualTo(1);
    }

    @Test
    void theLimitsCodesCountersMoveOnlyWhenCalled() {
        refusals.rateLimited(RefusalMetrics.TOKENS);
        refusals.rateLimited(RefusalMetrics.REQUESTS);
        refusals.rateLimited(RefusalMetrics.REQUESTS);
        refusals.overloaded();
        assertThat(registry.get("llm.ratelimit.refusals").tags("type", "requests").counter().count()).isEqualTo(2);
        assertThat(registry.get("llm.ratelimit.refusals").tags("type", "tokens").counter().count()).isEqualTo(1);
        assertThat(registry.get("llm.overload.refusals").tags("source", "concurrency_limit").counter().count())
                .isEqualTo(1);
        assertThat(registry.get("llm.overload.refusals").tags("source", "engine_queue").counter().count()).isZero();
    }
}
