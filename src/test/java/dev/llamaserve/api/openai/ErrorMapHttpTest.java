package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.EngineException;
import dev.llamaserve.engine.EngineState;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RequestNotPermitted;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Every error class over real HTTP: status, OpenAI error body, Retry-After (engine test double). */
class ErrorMapHttpTest extends EngineDoubleWebTest {

    private static JsonNode error(HttpResponse<String> r) {
        assertThat(r.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/json");
        JsonNode e = OpenAiJson.MAPPER.readTree(r.body()).get("error");
        assertThat(e).as(r.body()).isNotNull();
        for (String field : new String[] {"message", "type", "param", "code"}) {
            assertThat(e.has(field)).as("error has %s: %s", field, r.body()).isTrue();
        }
        assertThat(e.get("message").asString()).isNotBlank();
        return e;
    }

    private static void assertError(HttpResponse<String> r, int status, String type, String param, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode e = error(r);
        assertThat(e.get("type").asString()).isEqualTo(type);
        if (param == null) {
            assertThat(e.get("param").isNull()).as(r.body()).isTrue();
        } else {
            assertThat(e.get("param").asString()).isEqualTo(param);
        }
        assertThat(e.get("code").asString()).isEqualTo(code);
    }

    @Test
    void malformedJsonIs400() throws Exception {
        assertError(post("/v1/chat/completions", "{\"messages\": [}"), 400, "invalid_request_error", null, "invalid_json");
        assertError(post("/v1/chat/completions", ""), 400, "invalid_request_error", null, "invalid_json");
        assertError(post("/v1/chat/completions", "[1,2]"), 400, "invalid_request_error", null, "invalid_json");
        assertError(post("/v1/chat/completions", "{} {}"), 400, "invalid_request_error", null, "invalid_json");
    }

    @Test
    void invalidUtf8Is400() throws Exception {
        byte[] body = {'{', '"', 'm', 'e', 's', 's', 'a', 'g', 'e', 's', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/v1/chat/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertError(r, 400, "invalid_request_error", null, "invalid_json");
    }

    @Test
    void wrongTypesAndHugeNumbersAre400NamingTheParam() throws Exception {
        assertError(post("/v1/chat/completions", chat("\"temperature\":\"hot\"")), 400, "invalid_request_error",
                "temperature", "invalid_type");
        assertError(post("/v1/chat/completions", chat("\"max_tokens\":1e999999999")), 400, "invalid_request_error",
                "max_tokens", "invalid_value");
        assertError(post("/v1/chat/completions", chat("\"seed\":123456789012345678901234567890")), 400,
                "invalid_request_error", "seed", "invalid_value");
        assertError(post("/v1/chat/completions", chat("\"temperature\":" + "9".repeat(5000))), 400,
                "invalid_request_error", null, "invalid_json");
        assertError(post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\"}"), 400, "invalid_request_error",
                "messages", "missing_required_parameter");
        assertError(post("/v1/chat/completions", "{\"messages\":\"hi\"}"), 400, "invalid_request_error",
                "messages", "invalid_type");
    }

    @Test
    void rangeChecksNameTheParam() throws Exception {
        String[][] cases = {
                {"\"temperature\":2.01", "temperature"},
                {"\"temperature\":-0.1", "temperature"},
                {"\"top_p\":0", "top_p"},
                {"\"top_p\":1.5", "top_p"},
                {"\"logprobs\":true,\"top_logprobs\":21", "top_logprobs"},
                {"\"logit_bias\":{\"42\":100.5}", "logit_bias"},
                {"\"logit_bias\":{\"42\":-101}", "logit_bias"},
                {"\"max_tokens\":0", "max_tokens"},
                {"\"max_completion_tokens\":0", "max_completion_tokens"},
                {"\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]", "stop"},
                {"\"n\":2", "n"},
                {"\"tool_choice\":\"required\"", "tool_choice"},
                {"\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}", "tool_choice"},
                {"\"response_format\":{\"type\":\"json_object\"}", "response_format"},
                {"\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{}}", "response_format"},
        };
        for (String[] c : cases) {
            HttpResponse<String> r = post("/v1/chat/completions", chat(c[0]));
            assertThat(r.statusCode()).as(c[0]).isEqualTo(400);
            assertThat(error(r).get("param").asString()).as(c[0]).isEqualTo(c[1]);
        }
        assertThat(engine.submitted).isEmpty();
    }

    @Test
    void promptLayerErrorsPassThroughAs400() throws Exception {
        assertError(post("/v1/chat/completions", "{\"messages\":[{\"role\":7,\"content\":\"x\"}]}"), 400,
                "invalid_request_error", "messages[0].role", "invalid_value");
    }

    @Test
    void contextLengthExceededIs400() throws Exception {
        String longText = "a".repeat(ScriptedEngine.MAX_MODEL_LEN);
        assertError(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"" + longText + "\"}]}"),
                400, "invalid_request_error", "messages", "context_length_exceeded");
        assertError(post("/v1/chat/completions", chat("\"max_tokens\":" + ScriptedEngine.MAX_MODEL_LEN)), 400,
                "invalid_request_error", "max_tokens", "context_length_exceeded");
        engine.submitError = new EngineException.InvalidRequest("messages", "context_length_exceeded", "too long");
        assertError(post("/v1/chat/completions", chat("")), 400, "invalid_request_error", "messages",
                "context_length_exceeded");
    }

    @Test
    void unknownModelIs404() throws Exception {
        assertError(post("/v1/chat/completions", "{\"model\":\"gpt-5\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"),
                404, "invalid_request_error", "model", "model_not_found");
        assertError(get("/v1/models/gpt-5"), 404, "invalid_request_error", "model", "model_not_found");
    }

    @Test
    void unknownRouteIs404AndWrongMethodIs405() throws Exception {
        assertError(post("/v1/nope", "{}"), 404, "invalid_request_error", null, "not_found");
        assertError(get("/nothing/here"), 404, "invalid_request_error", null, "not_found");
        assertError(get("/v1/chat/completions"), 405, "invalid_request_error", null, "method_not_allowed");
    }

    @Test
    void bodyOverTheLimitIs413() throws Exception {
        // llm.api.max-body-bytes=1MB in the test properties
        String big = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(1024 * 1024 + 10) + "\"}]}";
        assertError(post("/v1/chat/completions", big), 413, "invalid_request_error", null, "request_too_large");
        // under the limit but far over WebFlux's 256 KB default: accepted (it then exceeds the context: 400)
        String medium = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(600 * 1024) + "\"}]}";
        HttpResponse<String> r = post("/v1/chat/completions", medium);
        assertError(r, 400, "invalid_request_error", "messages", "context_length_exceeded");
    }

    @Test
    void chunkedBodyOverTheLimitIs413() throws Exception {
        // no Content-Length: the limit applies while reading
        byte[] big = ("{\"messages\":[{\"role\":\"user\",\"content\":\"" + "y".repeat(1024 * 1024 + 10) + "\"}]}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertError(r, 413, "invalid_request_error", null, "request_too_large");
    }

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
