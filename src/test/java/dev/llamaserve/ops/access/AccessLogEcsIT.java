package dev.llamaserve.ops.access;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.api.openai.RealEngineWebTest;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.logging.LoggingInitializationContext;
import org.springframework.boot.logging.LoggingSystem;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.mock.env.MockEnvironment;
import tools.jackson.databind.JsonNode;

/**
 * With Spring Boot's structured logging switched on ({@code logging.structured.format.console=ecs}) the access
 * log line is one JSON object carrying every field. Boot's own logging system is re-initialized in ECS mode for
 * this test (as {@code LoggingApplicationListener} does at startup from that property) around a real request on
 * the shared real-engine server, then put back, so no second model load is needed.
 */
@ExtendWith(OutputCaptureExtension.class)
class AccessLogEcsIT extends RealEngineWebTest {

    private static final String FORMAT_PROPERTY = "CONSOLE_LOG_STRUCTURED_FORMAT";

    @Autowired
    private ConfigurableEnvironment environment;

    @Test
    void ecsModeWritesTheLineAsJsonWithTheFields(CapturedOutput output) throws Exception {
        LoggingSystem logging = LoggingSystem.get(getClass().getClassLoader());
        String before = System.getProperty(FORMAT_PROPERTY);
        reinitialize(logging, new MockEnvironment().withProperty("logging.structured.format.console", "ecs")
                .withProperty("logging.structured.ecs.service.name", "llama-serve"));
        String line;
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/v1/chat/completions"))
                    .header("Content-Type", "application/json").header("X-Request-Id", "access-ecs-1")
                    .timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofString(chat(greedy(2)))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            line = awaitLine(output, "\"request_id\":\"access-ecs-1\"");
        } finally {
            if (before == null) {
                System.clearProperty(FORMAT_PROPERTY);
            } else {
                System.setProperty(FORMAT_PROPERTY, before);
            }
            reinitialize(logging, environment);
        }
        org.slf4j.LoggerFactory.getLogger(AccessLogEcsIT.class).info("plain logging restored");
        assertThat(output.getOut().lines().filter(l -> l.contains("plain logging restored")).toList())
                .singleElement().satisfies(l -> assertThat(l).doesNotStartWith("{"));
        JsonNode json = json(line);
        assertThat(json.get("log").get("logger").asString()).isEqualTo("llama-serve.access");
        assertThat(json.get("log").get("level").asString()).isEqualTo("INFO");
        assertThat(json.get("message").asString()).startsWith("request_id=access-ecs-1 ");
        assertThat(json.get("endpoint").asString()).isEqualTo("/v1/chat/completions");
        assertThat(json.get("method").asString()).isEqualTo("POST");
        assertThat(json.get("model").asString()).isEqualTo(MODEL);
        assertThat(json.get("status").asInt()).isEqualTo(200);
        assertThat(json.get("prompt_tokens").asInt()).isPositive();
        assertThat(json.get("completion_tokens").asInt()).isEqualTo(2);
        assertThat(json.get("ttft_ms").asLong()).isGreaterThanOrEqualTo(0);
        assertThat(json.get("duration_ms").asLong()).isGreaterThanOrEqualTo(json.get("ttft_ms").asLong());
        assertThat(json.get("finish_reason").asString()).isEqualTo("length");
        assertThat(json.get("client_closed").asBoolean()).isFalse();
    }

    private static void reinitialize(LoggingSystem logging, org.springframework.core.env.Environment env) {
        logging.cleanUp();
        logging.beforeInitialize();
        logging.initialize(new LoggingInitializationContext(env instanceof ConfigurableEnvironment c ? c
                : new StandardEnvironment()), null, null);
    }

    private static String awaitLine(CapturedOutput output, String marker) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline) {
            List<String> lines = output.getOut().lines().filter(l -> l.contains(marker)).toList();
            if (!lines.isEmpty()) {
                assertThat(lines).hasSize(1);
                return lines.get(0);
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no ECS line with " + marker + " in:\n" + output.getOut());
    }
}
