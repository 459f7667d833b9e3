package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.EngineStats;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Clients that send a request and go away at once (before, while or just after it is submitted): none of
 * their requests may keep running in the engine. Before the fix, streaming completions whose client left
 * right after sending ran to their max_tokens (16 of 20 still running 3 s later): the engine's event stream
 * was never subscribed, so there was no cancel to turn into an abort.
 */
class EarlyDisconnectHttpIT extends RealEngineWebTest {

    private static final String[] PATHS = {"/v1/chat/completions", "/v1/chat/completions", "/v1/completions",
            "/v1/completions"};

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {0, 1, 2, 3})
    void clientsThatLeaveRightAfterSendingLeaveNothingRunning(int which) throws Exception {
        String[] bodies = {chat(greedy(3000) + ",\"stream\":true"), chat(greedy(3000)),
                "{\"prompt\":\"Once\"," + greedy(3000) + ",\"stream\":true}", "{\"prompt\":\"Once\"," + greedy(3000) + "}"};
        String[] c = {PATHS[which], bodies[which]};
        for (int i = 0; i < 20; i++) {
            try (Socket socket = new Socket("localhost", port)) {
                if (i % 2 == 1) {
                    socket.setSoLinger(true, 0); // leave with a reset instead of a FIN
                }
                byte[] body = c[1].getBytes(StandardCharsets.UTF_8);
                OutputStream out = socket.getOutputStream();
                out.write(("POST " + c[0] + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
                out.write(body);
                out.flush();
                Thread.sleep(i % 7); // leave at various points of the request's preparation
            }
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        EngineStats s = engine.stats();
        while ((s.running() != 0 || s.waiting() != 0 || s.kvBlocksUsed() != 0) && System.nanoTime() < deadline) {
            Thread.sleep(5);
            s = engine.stats();
        }
        System.out.println("after early disconnects on " + PATHS[which] + ": " + s);
        assertThat(s.running() + s.waiting()).as("%s", s).isZero();
        assertThat(s.kvBlocksUsed()).as("%s", s).isZero();
    }
}
