package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.springframework.http.client.ReactorResourceFactory;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/** {@code llm.api.io-threads}: how many event loops, and a server that runs its connections on exactly those. */
class HttpEventLoopsTest {

    @Test
    void autoIsOneLoopPerFourCoresAndAtLeastOne() {
        assertThat(HttpEventLoops.threads("auto", 1)).isEqualTo(1);
        assertThat(HttpEventLoops.threads("auto", 2)).isEqualTo(1);
        assertThat(HttpEventLoops.threads("AUTO", 7)).isEqualTo(1);
        assertThat(HttpEventLoops.threads("auto", 8)).isEqualTo(2);
        assertThat(HttpEventLoops.threads(null, 16)).isEqualTo(4);
        assertThat(HttpEventLoops.threads(" 3 ", 2)).isEqualTo(3);
    }

    @Test
    void aCountBelowOneOrNotANumberNamesTheProperty() {
        for (String bad : new String[] {"0", "-2", "many", "1.5"}) {
            assertThatThrownBy(() -> HttpEventLoops.threads(bad, 8)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("llm.api.io-threads")
                    .hasMessageContaining(bad);
        }
        // the property as bound: a bad value stops the start
        assertThatThrownBy(() -> new ApiProperties(false, "4MiB", Duration.ofSeconds(5), Duration.ofSeconds(1),
                Duration.ofSeconds(30), Duration.ofSeconds(60), "auto", "none", null, null, List.of("/v1/**"),
                List.of(), List.of())).hasMessageContaining("llm.api.io-threads").hasMessageContaining("none");
    }

    /** The threads that served 8 connections open at once, by name, on a server running on the factory's loops. */
    private static Map<String, Thread> servingThreads(ReactorResourceFactory factory) throws Exception {
        Map<String, Thread> seen = new ConcurrentHashMap<>();
        DisposableServer server = HttpServer.create().host("127.0.0.1").port(0).runOn(factory.getLoopResources())
                .route(routes -> routes.get("/who", (request, response) -> {
                    seen.put(Thread.currentThread().getName(), Thread.currentThread());
                    return response.sendString(Mono.just("ok"));
                })).bindNow();
        try {
            List<Socket> sockets = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                Socket s = new Socket("127.0.0.1", server.port());
                sockets.add(s);
                OutputStream out = s.getOutputStream();
                out.write("GET /who HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
            for (Socket s : sockets) {
                s.setSoTimeout(10_000);
                InputStream in = s.getInputStream();
                assertThat(new String(in.readNBytes(12), StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200");
                s.close();
            }
        } finally {
            server.disposeNow();
        }
        return seen;
    }

    @Test
    void theFactoryRunsConnectionsOnItsOwnLoopsAndEndsThem() throws Exception {
        for (int threads : new int[] {1, 2}) {
            ReactorResourceFactory factory = HttpEventLoops.resourceFactory(threads, Duration.ZERO);
            factory.afterPropertiesSet();
            Map<String, Thread> seen;
            try {
                seen = servingThreads(factory);
            } finally {
                factory.destroy();
            }
            assertThat(seen).as("%d loops: %s", threads, seen.keySet()).hasSize(threads);   // connections in turn
            assertThat(seen.keySet()).allMatch(n -> n.startsWith(HttpEventLoops.PREFIX + "-"), "named llm-http-*");
            for (Thread t : seen.values()) {
                t.join(10_000);
                assertThat(t.isAlive()).as("%s after the factory is destroyed", t.getName()).isFalse();
            }
        }
    }
}
