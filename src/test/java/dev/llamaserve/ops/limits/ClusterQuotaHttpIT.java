package dev.llamaserve.ops.limits;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.LlamaServeApplication;
import dev.llamaserve.ops.health.ProbePaths;
import dev.llamaserve.ops.auth.ApiKeys;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Two application contexts (two "replicas", each with its own engine and HTTP port) sharing one REAL Redis
 * admit the per-key limit L in total, not 2L; when Redis goes away mid-test each falls back to its own
 * local limit ({@code redis-failure=open}, the default) and says so in the log.
 */
@ExtendWith(OutputCaptureExtension.class)
class ClusterQuotaHttpIT {

    private static final int LIMIT = 4;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void twoReplicasAdmitTheLimitTogetherThenFallBackWhenRedisGoes(@TempDir Path dir, CapturedOutput output)
            throws Exception {
        String redisUrl = TestRedis.url();
        String key = "cluster-key-" + UUID.randomUUID();
        Path keys = dir.resolve("keys");
        // a key id of its own per run: Redis windows outlive a run by up to a minute
        Files.writeString(keys, "run-" + UUID.randomUUID() + ":"
                + HexFormat.of().formatHex(ApiKeys.sha256(key)) + ":" + LIMIT + "\n");
        try (TcpProxy proxy = new TcpProxy(TestRedis.host(), TestRedis.port());
                ConfigurableApplicationContext a = start(proxy.redisUrl(), keys);
                ConfigurableApplicationContext b = start(proxy.redisUrl(), keys)) {
            try (RedisQuotas probe = new RedisQuotas(redisUrl, Duration.ofSeconds(1), Duration.ofMinutes(1))) {
                RedisQuotasTest.awayFromTheWindowsEnd(probe);
            }
            int admitted = 0;
            for (int i = 0; i < 3 * LIMIT; i++) {
                HttpResponse<String> r = get(i % 2 == 0 ? a : b, key);
                assertThat(r.statusCode()).as(r.body()).isIn(200, 429);
                if (r.statusCode() == 200) {
                    admitted++;
                    assertThat(r.headers().firstValue("x-ratelimit-remaining-requests"))
                            .hasValue(Integer.toString(LIMIT - admitted));
                } else {
                    assertThat(r.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");
                    assertThat(r.headers().firstValue("Retry-After")).isPresent();
                }
            }
            assertThat(admitted).as("admitted by both replicas together").isEqualTo(LIMIT);

            proxy.close(); // Redis goes away
            for (ConfigurableApplicationContext replica : new ConfigurableApplicationContext[] {a, b}) {
                int local = 0;
                for (int i = 0; i < LIMIT + 2; i++) {
                    HttpResponse<String> r = get(replica, key);
                    assertThat(r.statusCode()).as("no 5xx when open: %s", r.body()).isIn(200, 429);
                    local += r.statusCode() == 200 ? 1 : 0;
                }
                assertThat(local).as("each replica's own limit").isEqualTo(LIMIT);
            }
            assertThat(output.getAll()).contains("falling back to this replica's own limits");
        }
    }

    private ConfigurableApplicationContext start(String redisUrl, Path keys) throws Exception {
        ConfigurableApplicationContext context = new SpringApplicationBuilder(LlamaServeApplication.class).run(
                "--server.port=0",
                "--llm.engine.max-model-len=4096",
                "--llm.api.keys-file=" + keys,
                "--llm.ratelimit.redis-url=" + redisUrl,
                "--llm.ratelimit.redis-timeout=1s");
        awaitReady(context); // the model loads in the background; until then the API answers 503 model_loading
        return context;
    }

    private void awaitReady(ConfigurableApplicationContext replica) throws Exception {
        String port = replica.getEnvironment().getProperty("local.server.port");
        URI readyz = URI.create("http://localhost:" + port + ProbePaths.READYZ);
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (http.send(HttpRequest.newBuilder(readyz).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.discarding()).statusCode() != 200) {
            assertThat(System.nanoTime()).as("replica ready within 3 minutes").isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private HttpResponse<String> get(ConfigurableApplicationContext replica, String key) throws Exception {
        String port = replica.getEnvironment().getProperty("local.server.port");
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/models"))
                .header("Authorization", "Bearer " + key).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
