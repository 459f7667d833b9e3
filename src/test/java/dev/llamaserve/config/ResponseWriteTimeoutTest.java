package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * A client that stops reading a streamed response (its socket open) is cut off after the write timeout, and the
 * response's stream is cancelled, which is what gives its admission slot back and aborts its request: it was held
 * for as long as the client kept the socket open (a leak fuzz review: 4 such sockets refused every request for
 * 150 s). A client that reads is not.
 */
class ResponseWriteTimeoutTest {

    private static final byte[] CHUNK = ("data: " + "x".repeat(16 * 1024) + "\n\n").getBytes(StandardCharsets.US_ASCII);

    /**
     * A server streaming a chunk a millisecond for ever, as fast as the client takes them, with the customizer applied;
     * {@code cancelled} counts down on cancel.
     */
    private static DisposableServer server(Duration timeout, CountDownLatch cancelled) {
        HttpServer server = HttpServer.create().host("127.0.0.1").port(0)
                .route(routes -> routes.post("/stream", (request, response) -> response.send(
                        // ticks the full socket does not ask for are dropped: Flux.interval alone fails with an
                        // OverflowException once the demand runs out, which ended the stream with an error before
                        // the write timeout could cut it off (seen failing a fresh-clone CI run on a 2-core Xeon)
                        Flux.interval(Duration.ofMillis(1)).onBackpressureDrop().map(i -> Unpooled.wrappedBuffer(CHUNK))
                                .doOnCancel(cancelled::countDown))));
        return ResponseWriteTimeout.customizer(timeout).apply(server).bindNow();
    }

    private static Socket post(DisposableServer server) throws Exception {
        Socket s = new Socket();
        s.setReceiveBufferSize(4096);   // before connecting: the window the client offers
        s.connect(new InetSocketAddress("127.0.0.1", server.port()));
        OutputStream out = s.getOutputStream();
        out.write("POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return s;
    }

    @Test
    void aClientThatStopsReadingIsCutOffAndItsStreamCancelled() throws Exception {
        CountDownLatch cancelled = new CountDownLatch(1);
        DisposableServer server = server(Duration.ofMillis(500), cancelled);
        try (Socket s = post(server)) {
            // never read: the socket's buffers fill, a write waits, and after 500 ms the connection is closed
            assertThat(cancelled.await(30, TimeUnit.SECONDS)).as("the stream is cancelled").isTrue();
            InputStream in = s.getInputStream();
            s.setSoTimeout(30_000);
            byte[] buffer = new byte[1 << 16];
            long read = 0;
            int n;
            try {
                while ((n = in.read(buffer)) >= 0) {
                    read += n;
                }
            } catch (java.net.SocketException reset) {
                // a reset is a close too
            }
            assertThat(read).as("what was in flight arrives, then the end").isPositive();
        } finally {
            server.disposeNow();
        }
    }

    @Test
    void aClientThatReadsIsServed() throws Exception {
        CountDownLatch cancelled = new CountDownLatch(1);
        DisposableServer server = server(Duration.ofMillis(500), cancelled);
        try (Socket s = post(server)) {
            InputStream in = s.getInputStream();
            byte[] buffer = new byte[1 << 16];
            long read = 0;
            long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
            while (System.nanoTime() < until) {
                read += in.read(buffer);
            }
            assertThat(read).as("two seconds of the stream, read as it comes").isGreaterThan(10L * CHUNK.length);
            assertThat(cancelled.getCount()).as("never cut off").isEqualTo(1);
        } finally {
            server.disposeNow();
        }
    }
}
