package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The error classes over real HTTP on the REAL engine and chat layer: status and OpenAI error body.
 * 503 overloaded comes from the real engine too, in a server of its own ({@link OverloadHttpIT}). 429 (rate
 * limit), 503 loading/draining and 500 (engine failure) have no producer in a running test server (no rate
 * limiter is wired yet; a started engine is READY and cannot be made to fail on demand), so they are checked
 * with the scripted engine in {@link ScriptedRefusalsHttpIT}.
 */
class ErrorMapHttpIT extends RealEngineWebTest {

    static JsonNode error(HttpResponse<String> r) {
        assertThat(r.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/json");
        JsonNode e = OpenAiJson.MAPPER.readTree(r.body()).get("error");
        assertThat(e).as(r.body()).isNotNull();
        for (String field : new String[] {"message", "type", "param", "code"}) {
            assertThat(e.has(field)).as("error has %s: %s", field, r.body()).isTrue();
        }
        assertThat(e.get("message").asString()).isNotBlank();
        return e;
    }

    static void assertError(HttpResponse<String> r, int status, String type, String param, String code) {
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
        // OpenAI's code, and the one /tokenize and the Spring AI adapter give (the chat layer's one check)
        for (String path : new String[] {"/v1/chat/completions", "/tokenize"}) {
            assertError(post(path, "{\"messages\":[]}"), 400, "invalid_request_error", "messages", "empty_array");
        }
    }

    @Test
    void rangeChecksNameTheParam() throws Exception {
        String[][] cases = {
                {"\"temperature\":2.01", "temperature"},
                {"\"temperature\":-0.1", "temperature"},
                {"\"top_p\":-0.1", "top_p"},
                {"\"top_p\":1.5", "top_p"},
                {"\"logprobs\":true,\"top_logprobs\":21", "top_logprobs"},
                {"\"logit_bias\":{\"42\":100.5}", "logit_bias"},
                {"\"logit_bias\":{\"42\":-101}", "logit_bias"},
                {"\"max_tokens\":0", "max_tokens"},
                {"\"max_completion_tokens\":0", "max_completion_tokens"},
                {"\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]", "stop"},
                {"\"n\":17", "n"},
                {"\"n\":0", "n"},
                {"\"tool_choice\":\"required\"", "tool_choice"},
                {"\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}", "tool_choice"},
                {"\"response_format\":{\"type\":\"xml\"}", "response_format"},
                {"\"response_format\":{\"type\":\"json_schema\"}", "response_format"},
                {"\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"strict\":true,\"schema\":{\"not\":{}}}}",
                        "response_format"},
        };
        long steps = engine.stats().steps();
        for (String[] c : cases) {
            HttpResponse<String> r = post("/v1/chat/completions", chat(c[0]));
            assertThat(r.statusCode()).as(c[0]).isEqualTo(400);
            assertThat(error(r).get("param").asString()).as(c[0]).isEqualTo(c[1]);
        }
        assertThat(engine.stats().steps()).as("nothing reached the engine").isEqualTo(steps);
    }

    @Test
    void chatLayerErrorsAre400NamingTheField() throws Exception {
        assertError(post("/v1/chat/completions", "{\"messages\":[{\"role\":7,\"content\":\"x\"}]}"), 400,
                "invalid_request_error", "messages[0].role", "invalid_type");
        assertError(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}"), 400,
                "invalid_request_error", "messages[0].role", "invalid_value");
    }

    @Test
    void contextLengthExceededIs400FromTheRealChatLayer() throws Exception {
        // " a" is one token: 5000 of them exceed the 4096-token context of the test server
        String longText = " a".repeat(5000);
        HttpResponse<String> r = post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\""
                + longText + "\"}]}");
        assertError(r, 400, "invalid_request_error", "messages", "context_length_exceeded");
        assertThat(error(r).get("message").asString()).contains("4096");
        assertError(post("/v1/chat/completions", chat("\"max_tokens\":" + MAX_MODEL_LEN)), 400,
                "invalid_request_error", "max_tokens", "context_length_exceeded");
        // 300,000 tokens in 600 KB: refused from a part of its text, not counted in full (the count is a floor)
        HttpResponse<String> huge = post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\""
                + " a".repeat(300_000) + "\"}]}");
        assertError(huge, 400, "invalid_request_error", "messages", "context_length_exceeded");
        assertThat(error(huge).get("message").asString()).contains("resulted in at least").contains("4096");
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
        HttpResponse<String> wrongMethod = get("/v1/chat/completions");
        assertError(wrongMethod, 405, "invalid_request_error", null, "method_not_allowed");
        assertThat(wrongMethod.headers().firstValue("Allow")).as("RFC 9110: a 405 names the methods")
                .hasValueSatisfying(v -> assertThat(v).contains("POST"));
    }

    /** JSON only: a page of another site may post text/plain without a CORS preflight; no client sends it. */
    @Test
    void aBodyThatIsNotJsonIs415() throws Exception {
        HttpResponse<String> plain = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(baseUrl() + "/v1/chat/completions"))
                .header("Content-Type", "text/plain;charset=UTF-8")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(chat("\"max_tokens\":1"))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertError(plain, 415, "invalid_request_error", null, "unsupported_media_type");
        assertThat(json(plain.body()).get("error").get("message").asString()).contains("Content-Type: application/json");
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
}
