package dev.llamaserve.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * One HTTP/1.1 keep-alive connection, written to as a client that sends its next request as soon as it has
 * one (pipelining, or a request that overtakes the server's clean-up of the previous exchange): a request
 * answered at once, queued behind a generation, must not leave the connection deaf. Reactor Netty 1.3.6/1.3.7
 * stop reading such a connection (reactor/reactor-netty#4361): every later request on it hung until the
 * client's timeout. {@code KeepAliveReadRearm} re-arms the read after each response.
 */
class KeepAliveHttpIT extends OpsWebTest {

    @Test
    void aConnectionKeepsReadingAfterAQueuedRequestAnsweredAtOnce() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            for (int round = 0; round < 5; round++) {
                String body = chat("\"temperature\":0,\"max_tokens\":4");
                String generation = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                        + "Authorization: Bearer " + PLAIN_KEY + "\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
                String unauthorized = "GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n";
                // the second request arrives while the generation runs: queued, then answered synchronously (401)
                out.write((generation + unauthorized).getBytes(StandardCharsets.UTF_8));
                out.flush();
                assertThat(readResponse(in).status).as("round %d: the generation", round).isEqualTo(200);
                assertThat(readResponse(in).status).as("round %d: the queued request", round).isEqualTo(401);

                out.write(unauthorized.getBytes(StandardCharsets.UTF_8));
                out.flush();
                Response next;
                try {
                    next = readResponse(in);
                } catch (SocketTimeoutException e) {
                    throw new AssertionError("round " + round + ": the connection stopped reading: no answer in 20 s"
                            + " to a request sent after a queued one", e);
                }
                assertThat(next.status).as("round %d: the request after them", round).isEqualTo(401);
            }
        }
    }

    record Response(int status, String body) {}

    /** One HTTP/1.1 response: status line, headers, and a Content-Length or chunked body. */
    static Response readResponse(InputStream in) throws IOException {
        String statusLine = readLine(in);
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        int length = -1;
        boolean chunked = false;
        for (String h = readLine(in); !h.isEmpty(); h = readLine(in)) {
            String lower = h.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Integer.parseInt(h.substring(15).trim());
            } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                chunked = true;
            }
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (chunked) {
            for (int size = Integer.parseInt(readLine(in).trim(), 16); size > 0;
                    size = Integer.parseInt(readLine(in).trim(), 16)) {
                body.write(in.readNBytes(size));
                readLine(in);
            }
            readLine(in);
        } else if (length > 0) {
            body.write(in.readNBytes(length));
        }
        return new Response(status, body.toString(StandardCharsets.UTF_8));
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                throw new IOException("connection closed by the server");
            }
            if (b != '\r') {
                line.write(b);
            }
        }
        return line.toString(StandardCharsets.ISO_8859_1);
    }
}
