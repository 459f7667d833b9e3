package dev.llamaserve.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.ops.auth.ApiKeys;
import java.net.http.HttpResponse;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/** Over real HTTP: every protected route needs a key; probes and metrics stay open; keys never reach the log. */
@ExtendWith(OutputCaptureExtension.class)
class ApiKeyHttpIT extends OpsWebTest {

    /** method, path, body: every protected route. */
    private List<String[]> protectedRoutes() {
        return List.of(
                new String[] {"POST", "/v1/chat/completions", chat("\"max_tokens\":1")},
                new String[] {"POST", "/v1/completions", "{\"model\":\"" + model() + "\",\"prompt\":\"x\",\"max_tokens\":1}"},
                new String[] {"GET", "/v1/models", null},
                new String[] {"GET", "/v1/models/" + model(), null},
                new String[] {"POST", "/tokenize", "{\"prompt\":\"hello\"}"},
                new String[] {"POST", "/detokenize", "{\"tokens\":[1,2]}"},
                // an actuator endpoint an operator exposes (OpsWebTest exposes loggers) is not open to every client
                new String[] {"GET", "/actuator/loggers", null},
                new String[] {"GET", "/actuator", null});
    }

    @Test
    void missingOrWrongKeyIs401OnEveryProtectedRouteAndARightKeyPasses(CapturedOutput output) throws Exception {
        for (String[] route : protectedRoutes()) {
            for (String key : new String[] {null, "wrong-key", ALICE + "x", ""}) {
                HttpResponse<String> r = send(route[0], route[1], key, route[2]);
                assertOpenAiError(r, 401, "invalid_request_error", "invalid_api_key");
                assertThat(r.headers().firstValue("WWW-Authenticate")).as(route[1]).hasValue("Bearer");
            }
            for (String authorization : new String[] {"Basic " + ERIN, ERIN, "Bearer", "Bearer  "}) {
                assertOpenAiError(sendAuthorized(route[0], route[1], authorization, route[2]), 401,
                        "invalid_request_error", "invalid_api_key");
            }
            for (String key : new String[] {ERIN, PLAIN_KEY, SECOND_PLAIN_KEY}) {
                HttpResponse<String> ok = send(route[0], route[1], key, route[2]);
                assertThat(ok.statusCode()).as("%s %s: %s", route[0], route[1], ok.body()).isEqualTo(200);
            }
        }
        assertThat(sendAuthorized("GET", "/v1/models", "bearer " + ERIN, null).statusCode()).isEqualTo(200);

        String log = output.getAll();
        assertThat(log).as("the 401s were logged (access log), so the log was captured").contains("status=401");
        for (String key : new String[] {PLAIN_KEY, SECOND_PLAIN_KEY, ALICE, ERIN}) {
            assertThat(log).doesNotContain(key).doesNotContain(HexFormat.of().formatHex(ApiKeys.sha256(key)));
        }
    }

    @Test
    void probesAndMetricsAreOpenOtherActuatorEndpointsAreNot() throws Exception {
        assertOpenAiError(sendAuthorized("POST", "/actuator/loggers/llama-serve.access", null,
                "{\"configuredLevel\":\"OFF\"}"), 401, "invalid_request_error", "invalid_api_key");
        HttpResponse<String> health = send("GET", "/actuator/health", null, null);
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("\"status\"");
        HttpResponse<String> prometheus = send("GET", "/actuator/prometheus", null, null);
        assertThat(prometheus.statusCode()).isEqualTo(200);
        assertThat(prometheus.body()).contains("jvm_");
        for (String probe : new String[] {"/livez", "/readyz", "/actuator/health/liveness", "/actuator/health/readiness"}) {
            assertThat(send("GET", probe, null, null).statusCode()).as(probe).isNotEqualTo(401);
        }
    }
}
