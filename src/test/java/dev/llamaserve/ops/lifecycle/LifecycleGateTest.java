package dev.llamaserve.ops.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.engine.EngineException;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpMethod;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * The gate matches the model's routes as WebFlux routes requests (decoded segments, matrix parameters left out):
 * a raw path that WebFlux hands to a model's controller is refused while the model is not ready.
 */
class LifecycleGateTest {

    /** Never started: its phase stays LOADING. */
    private final ModelLifecycle loading = new ModelLifecycle(() -> {
        throw new AssertionError("the gate must not load the model");
    }, t -> {}, Duration.ofSeconds(1));
    private final LifecycleGate gate = new LifecycleGate(loading);

    /** Whether the request reached the chain; a refusal is thrown. */
    private boolean passes(HttpMethod method, String rawPath) {
        AtomicBoolean reached = new AtomicBoolean();
        MockServerWebExchange exchange = MockServerWebExchange.from(
                MockServerHttpRequest.method(method, URI.create(rawPath)).build());
        gate.filter(exchange, ex -> Mono.fromRunnable(() -> reached.set(true))).block();
        return reached.get();
    }

    private void assertRefused(HttpMethod method, String rawPath) {
        assertThatThrownBy(() -> passes(method, rawPath)).as(rawPath)
                .isInstanceOf(EngineException.Unavailable.class);
    }

    @Test
    void theModelsRoutesAreRefusedWhileLoadingHoweverTheirPathIsWritten() {
        assertThat(loading.phase()).isEqualTo(ServingPhase.LOADING);
        assertRefused(HttpMethod.POST, "/v1/chat/completions");
        assertRefused(HttpMethod.GET, "/v1/models");
        assertRefused(HttpMethod.GET, "/v1");
        assertRefused(HttpMethod.POST, "/tokenize");
        assertRefused(HttpMethod.POST, "/detokenize");
        // matrix parameters, which WebFlux leaves out when it routes
        assertRefused(HttpMethod.POST, "/tokenize;x=1");
        assertRefused(HttpMethod.POST, "/detokenize;a=b;c=d");
        assertRefused(HttpMethod.POST, "/v1;x=1/chat/completions");
        // percent-encoded segments, which WebFlux decodes when it routes
        assertRefused(HttpMethod.POST, "/%761/chat/completions");
        assertRefused(HttpMethod.POST, "/%74okenize");
    }

    @Test
    void probesTheActuatorAndOtherPathsPass() {
        assertThat(passes(HttpMethod.GET, "/readyz")).isTrue();
        assertThat(passes(HttpMethod.GET, "/livez")).isTrue();
        assertThat(passes(HttpMethod.GET, "/actuator/health/readiness")).isTrue();
        assertThat(passes(HttpMethod.GET, "/")).isTrue();
        assertThat(passes(HttpMethod.POST, "/v10/chat/completions")).isTrue();
        assertThat(passes(HttpMethod.POST, "/tokenizer")).isTrue();
    }

    @Test
    void drainingRefusesTheModelsRoutesToo() {
        loading.drain();
        assertThat(loading.phase()).isEqualTo(ServingPhase.DRAINING);
        assertRefused(HttpMethod.POST, "/tokenize;x=1");
        assertThat(passes(HttpMethod.GET, "/readyz")).isTrue();
    }
}
