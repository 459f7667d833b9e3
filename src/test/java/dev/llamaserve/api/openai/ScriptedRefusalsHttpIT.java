package dev.llamaserve.api.openai;

import static dev.llamaserve.api.openai.ErrorMapHttpIT.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.EngineException;
import dev.llamaserve.engine.EngineState;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RequestNotPermitted;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/**
 * The refusals the real engine has no on-demand producer for in a running test server, through the
 * SCRIPTED engine's submit: 429 (no rate limiter is wired yet; the map handles resilience4j's
 * RequestNotPermitted), 503 loading/draining (a started engine is READY) and 500 engine failure. 503
 * overloaded is produced by the real engine in {@link OverloadHttpIT} (and kept here beside its siblings);
 * the rest of the error map runs on the real engine in {@link ErrorMapHttpIT}.
 */
class ScriptedRefusalsHttpIT extends EngineDoubleWebTest {

    @Test
    void rateLimitedIs429WithRetryAfter() throws Exception {
        engine.submitError = RequestNotPermitted.createRequestNotPermitted(RateLimiter.ofDefaults("test"));
        HttpResponse<String> r = post("/v1/chat/completions", chat(""));
        assertError(r, 429, "rate_limit_error", null, "rate_limit_exceeded");
        assertThat(r.headers().firstValue("Retry-After")).hasValue("2");
    }

    @Test
    void overloadedLoadingAndDrainingAre503WithRetryAfter() throws Exception {
        engine.submitError = new EngineException.Overloaded("queue full");
        HttpResponse<String> r = post("/v1/chat/completions", chat("\"stream\":true"));
        assertError(r, 503, "server_error", null, "overloaded");
        assertThat(r.headers().firstValue("Retry-After")).hasValue("2");

        engine.submitError = new EngineException.Unavailable(EngineState.LOADING, "loading");
        r = post("/v1/chat/completions", chat(""));
        assertError(r, 503, "server_error", null, "model_loading");
        assertThat(r.headers().firstValue("Retry-After")).hasValue("2");

        engine.submitError = new EngineException.Unavailable(EngineState.DRAINING, "draining");
        r = post("/v1/chat/completions", chat(""));
        assertError(r, 503, "server_error", null, "draining");
        assertThat(r.headers().firstValue("Retry-After")).hasValue("2");
    }

    @Test
    void engineFailureIs500WithoutDetails() throws Exception {
        engine.submitError = new EngineException.Failure("native crash at 0xdeadbeef", new RuntimeException());
        HttpResponse<String> r = post("/v1/chat/completions", chat(""));
        assertError(r, 500, "server_error", null, "internal_error");
        assertThat(r.body()).doesNotContain("deadbeef");
        assertThat(r.headers().firstValue("Retry-After")).isEmpty();
    }
}
