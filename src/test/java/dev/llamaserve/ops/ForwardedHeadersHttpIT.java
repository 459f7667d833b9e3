package dev.llamaserve.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.LlamaServeApplication;
import dev.llamaserve.api.openai.HttpTestSupport;
import dev.llamaserve.api.openai.RealEngineWebTest;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;

/**
 * Without API keys the rate limits are per remote address. On Kubernetes (as the chart deploys it) Spring Boot
 * would trust {@code X-Forwarded-For} and {@code Forwarded} by itself, and every client could pick its own address,
 * and with it a fresh limit, per request. llama-serve turns that off: the platform is set to Kubernetes here.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        classes = LlamaServeApplication.class,
        properties = {
                "spring.main.cloud-platform=kubernetes",
                "llm.ratelimit.requests-per-minute=2",
                "llm.engine.max-model-len=1024"
        })
class ForwardedHeadersHttpIT extends HttpTestSupport {

    @Override
    protected String model() {
        return RealEngineWebTest.MODEL;
    }

    @Test
    void aClientCannotChooseItsOwnAddressForTheRateLimit() throws Exception {
        List<Integer> statuses = new ArrayList<>();
        List<String> seen = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl() + "/v1/models"))
                    .timeout(Duration.ofSeconds(30)).GET();
            if (i == 2) {
                b.header("X-Forwarded-For", "203.0.113." + i);
            } else if (i == 3) {
                b.header("Forwarded", "for=192.0.2." + i);
            }
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            statuses.add(r.statusCode());
            seen.add(r.statusCode() + " " + r.headers().firstValue("x-ratelimit-remaining-requests").orElse("-"));
        }
        assertThat(statuses).as("two requests a minute from this one address, whatever its headers say: %s", seen)
                .containsExactly(200, 200, 429);
    }
}
