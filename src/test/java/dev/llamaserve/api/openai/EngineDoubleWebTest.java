package dev.llamaserve.api.openai;

import dev.llamaserve.LlamaServeApplication;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * Base of the HTTP tests that run the real server on a random port with the ENGINE TEST DOUBLE
 * ({@link ScriptedEngine}) and the prompt-layer test double ({@link FakePromptEncoder}). The lead
 * replaces these beans with the real engine and chat package for the final tests: every subclass
 * of this class is such a test.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        classes = {LlamaServeApplication.class, EngineDoubleWebTest.Doubles.class},
        properties = {
                "llm.model.served-name=meta-llama/Llama-3.1-8B-Instruct",
                "llm.model.aliases=llama3,gpt-4o-mini",
                "llm.api.keep-alive-interval=300ms",
                "llm.api.max-body-bytes=1MB",
                "llm.api.retry-after=2s"
        })
public abstract class EngineDoubleWebTest {

    public static final String MODEL = "meta-llama/Llama-3.1-8B-Instruct";

    @TestConfiguration(proxyBeanMethods = false)
    static class Doubles {
        @Bean
        @Primary
        ScriptedEngine scriptedEngine() {
            return new ScriptedEngine();
        }

        @Bean
        @Primary
        FakePromptEncoder fakePromptEncoder() {
            return new FakePromptEncoder();
        }
    }

    @LocalServerPort
    protected int port;

    @Autowired
    protected ScriptedEngine engine;

    @Autowired
    protected FakePromptEncoder encoder;

    protected final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeEach
    void resetDoubles() {
        engine.reset();
    }

    protected String baseUrl() {
        return "http://localhost:" + port;
    }

    protected WebTestClient client() {
        return WebTestClient.bindToServer().baseUrl(baseUrl()).responseTimeout(Duration.ofSeconds(30))
                .codecs(c -> c.defaultCodecs().maxInMemorySize(16 * 1024 * 1024)).build();
    }

    protected HttpResponse<String> post(String path, String json) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(baseUrl() + path))
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    protected HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(30))
                .GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    protected static String chat(String extra) {
        return "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]"
                + (extra.isEmpty() ? "" : "," + extra) + "}";
    }
}
