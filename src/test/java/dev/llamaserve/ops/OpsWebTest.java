package dev.llamaserve.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.LlamaServeApplication;
import dev.llamaserve.api.openai.HttpTestSupport;
import dev.llamaserve.api.openai.RealEngineWebTest;
import java.io.IOException;
import java.net.http.HttpResponse;
import org.springframework.boot.test.context.SpringBootTest;
import tools.jackson.databind.JsonNode;

/**
 * Base of the operations HTTP tests: the REAL server and engine on the demo checkpoint, with API keys (two
 * plain ones, four from {@code src/test/resources/ops/test-keys.txt} with per-key limits), a global limit of
 * 1000 requests per minute, and room for 4 generation requests at once. Subclasses keep exactly this
 * configuration, so they share one context; each test uses its own key, since windows last a minute.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        classes = LlamaServeApplication.class,
        properties = {
                "llm.engine.max-model-len=4096",
                "llm.engine.max-num-seqs=4",
                "llm.engine.max-waiting=8",
                "llm.ops.max-concurrent-requests=" + OpsWebTest.MAX_CONCURRENT,
                "llm.api.keys=" + OpsWebTest.PLAIN_KEY + "," + OpsWebTest.SECOND_PLAIN_KEY,
                "llm.api.keys-file=src/test/resources/ops/test-keys.txt",
                "llm.api.retry-after=2s",
                "llm.api.body-timeout=3s",
                "llm.api.cors-allowed-origins=http://localhost:5173",
                "llm.ratelimit.requests-per-minute=1000",
                "management.endpoints.web.exposure.include=health,prometheus,loggers",
                "logging.level.dev.llamaserve.api.openai.OpenAiErrorHandler=DEBUG"
        })
public abstract class OpsWebTest extends HttpTestSupport {

    public static final int MAX_CONCURRENT = 4;
    public static final String PLAIN_KEY = "plain-key-0123456789";
    public static final String SECOND_PLAIN_KEY = "second-plain-key-abcdef";
    /** rpm 3. */
    public static final String ALICE = "alice-secret-key-0001";
    /** rpm 3. */
    public static final String BOB = "bob-secret-key-0002";
    /** rpm off, tpm 300. */
    public static final String CAROL = "carol-secret-key-0003";
    /** rpm 2, tpm 300. */
    public static final String DAVE = "dave-secret-key-0004";
    /** the global limits. */
    public static final String ERIN = "erin-secret-key-0005";

    @Override
    protected String model() {
        return RealEngineWebTest.MODEL;
    }

    /** {@code method path} with {@code Authorization: Bearer key} (none when key is null). */
    protected HttpResponse<String> send(String method, String path, String key, String json)
            throws IOException, InterruptedException {
        return sendAuthorized(method, path, key == null ? null : "Bearer " + key, json);
    }

    /** {@code method path} with this {@code Authorization} header (none when null). */
    protected HttpResponse<String> sendAuthorized(String method, String path, String authorization, String json)
            throws IOException, InterruptedException {
        return http.send(request(method, path, authorization, json), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * A series' value at /actuator/prometheus, 0 when absent, e.g. {@code llm_ratelimit_refusals_total{type="requests"}}.
     * The subclasses share one context: compare values taken before and after.
     */
    protected double metric(String series) throws IOException, InterruptedException {
        return send("GET", "/actuator/prometheus", null, null).body().lines()
                .filter(l -> l.startsWith(series + " "))
                .mapToDouble(l -> Double.parseDouble(l.substring(series.length() + 1).trim()))
                .findFirst().orElse(0);
    }

    /** An OpenAI error body with this type and code, and the response's status. */
    protected static JsonNode assertOpenAiError(HttpResponse<String> r, int status, String type, String code) {
        assertThat(r.statusCode()).as("status of %s", r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(
                v -> assertThat(v).startsWith("application/json"));
        JsonNode error = json(r.body()).get("error");
        assertThat(error.get("type").asString()).isEqualTo(type);
        assertThat(error.get("code").asString()).isEqualTo(code);
        assertThat(error.get("message").asString()).isNotBlank();
        assertThat(error.has("param")).isTrue();
        return error;
    }
}
