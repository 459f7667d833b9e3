package dev.llamaserve.api.openai;

import static dev.llamaserve.api.openai.ErrorMapHttpIT.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.LlamaServeApplication;
import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.InferenceEngine;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;

/**
 * 503 {@code overloaded} from the REAL engine: a server of its own (one more context, on purpose) that runs
 * one sequence and queues one more ({@code llm.engine.max-num-seqs=1}, {@code llm.engine.max-waiting=1});
 * with both taken, the next request is refused before any byte of a stream, with Retry-After, and without
 * charging the caller's tokens-per-minute (an SDK retries a 503: each try would spend the quota again).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        classes = LlamaServeApplication.class,
        properties = {
                "llm.engine.max-num-seqs=1",
                "llm.engine.max-waiting=1",
                "llm.engine.max-model-len=4096",
                "llm.api.retry-after=2s",
                "llm.ratelimit.tokens-per-minute=" + OverloadHttpIT.TOKENS_PER_MINUTE
        })
class OverloadHttpIT extends HttpTestSupport {

    static final int TOKENS_PER_MINUTE = 100_000;

    @Autowired
    InferenceEngine engine;

    @Override
    protected String model() {
        return RealEngineWebTest.MODEL;
    }

    @Test
    void fullQueueIs503OverloadedWithRetryAfter() throws Exception {
        String longRequest = chat("\"temperature\":0,\"ignore_eos\":true,\"max_tokens\":3000,\"stream\":true");
        try (Socket running = new Socket("localhost", port); Socket waiting = new Socket("localhost", port)) {
            send(running, longRequest);
            await(s -> s.running() == 1);
            send(waiting, longRequest);
            await(s -> s.running() == 1 && s.waiting() == 1);

            HttpResponse<String> r = post("/v1/chat/completions", chat("\"max_tokens\":1"));
            assertError(r, 503, "server_error", null, "overloaded");
            assertThat(r.headers().firstValue("Retry-After")).hasValue("2");
            HttpResponse<String> streamed = post("/v1/chat/completions", chat("\"max_tokens\":1,\"stream\":true"));
            assertError(streamed, 503, "server_error", null, "overloaded");
            HttpResponse<String> completion = post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}");
            assertError(completion, 503, "server_error", null, "overloaded");
        }
        // both clients gone: both sequences are aborted and the server serves again
        await(s -> s.running() == 0 && s.waiting() == 0 && s.kvBlocksUsed() == 0);
        HttpResponse<String> served = post("/v1/chat/completions", chat("\"max_tokens\":1"));
        assertThat(served.statusCode()).isEqualTo(200);
        // charged: the two long requests and this one; the three refused ones took nothing
        int prompt = json(served.body()).get("usage").get("prompt_tokens").asInt();
        assertThat(served.headers().firstValue("x-ratelimit-remaining-tokens"))
                .hasValue(String.valueOf(TOKENS_PER_MINUTE - 2 * (prompt + 3000) - (prompt + 1)));
    }

    private static void send(Socket socket, String body) throws Exception {
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body)
                .getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private void await(Predicate<EngineStats> condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.test(engine.stats()) && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertThat(condition.test(engine.stats())).as("%s", engine.stats()).isTrue();
    }
}
