package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.LlamaServeApplication;
import dev.llamaserve.api.openai.HttpTestSupport;
import dev.llamaserve.api.openai.RealEngineWebTest;
import io.netty.channel.EventLoopGroup;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.http.client.ReactorResourceFactory;

/**
 * The service's HTTP server runs on its own {@code llm.api.io-threads} event loops ({@link HttpEventLoops}): the
 * application's resource factory has that many, and no other HTTP loops exist (this JVM may hold other test
 * contexts, each with loops of its own, all named {@code llm-http-*}).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        classes = LlamaServeApplication.class,
        properties = {"llm.api.io-threads=2", "llm.engine.max-model-len=1024"})
class HttpEventLoopsIT extends HttpTestSupport {

    @Autowired
    private ReactorResourceFactory resources;

    @Override
    protected String model() {
        return RealEngineWebTest.MODEL;
    }

    @Test
    void requestsAreServedOnTheConfiguredLoops() throws Exception {
        EventLoopGroup loops = resources.getLoopResources().onServer(true);
        assertThat(StreamSupport.stream(loops.spliterator(), false).count()).as("event loops").isEqualTo(2);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/v1/models"))
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        List<String> all = Thread.getAllStackTraces().keySet().stream().map(Thread::getName).sorted().toList();
        assertThat(all).as("threads").anyMatch(n -> n.startsWith(HttpEventLoops.PREFIX + "-"))
                .noneMatch(n -> n.contains("-http-") && !n.startsWith(HttpEventLoops.PREFIX + "-"));
    }
}
