package dev.llamaserve.bench;

import dev.llamaserve.LlamaServeApplication;
import dev.llamaserve.config.ModelLoadHooks;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.ops.health.ProbePaths;
import dev.llamaserve.ops.lifecycle.ModelLifecycle;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicReference;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The real service in this JVM (the whole Spring Boot application on a random port, serving the bench
 * checkpoint) and a real client: the JDK {@link HttpClient} posting {@code /v1/completions} with token-id
 * prompts and {@code stream: true}, reading the SSE frames as they arrive (one frame per token: the bench
 * tokenizer gives every id text). The client reads every stream with a non-blocking line subscriber on one thread
 * of its own: it shares the machine's cores with the service, and a thread blocked per stream (16–32 of them, each
 * woken by every frame) preempted libtorch's threads in the middle of the steps it is there to measure.
 */
final class HttpRuns implements AutoCloseable {

    /** Short requests of {@link #warmUp}. */
    private static final int WARM_REQUESTS = 400;

    private final ConfigurableApplicationContext context;
    /** The service's model with a clock around each forward pass (through {@link ModelLoadHooks}). */
    private final AtomicReference<TimedLm> timed = new AtomicReference<>();
    private final ExecutorService clientThread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "bench-http-client");
        t.setDaemon(true);
        return t;
    });
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .executor(clientThread).build();
    private final URI base;
    private final int decodeTokens;
    private int salt = 50_000;

    /** Starts the service on {@code dir} with {@code extra} properties ({@code llm.model.dtype}, ...) and waits until ready. */
    HttpRuns(Path dir, Map<String, String> extra, int decodeTokens) throws Exception {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("server.port", "0");
        p.put("llm.model.path", dir.toString());
        p.put("llm.engine.max-num-seqs", "32");
        p.put("llm.engine.kv-cache-memory", System.getProperty("bench.kvCacheMemory", "1GiB"));
        p.put("llm.engine.kv-cache-pre-touch", System.getProperty("bench.kvCachePreTouch", "false"));
        p.put("logging.level.root", "WARN");
        p.put("logging.level.dev.llamaserve.config", "INFO");
        p.putAll(extra);
        // as command-line arguments: they win over the test class path's application.properties
        ModelLoadHooks hooks = new ModelLoadHooks() {
            @Override
            public CausalLm decorate(CausalLm model) {
                TimedLm t = new TimedLm(model);
                timed.set(t);
                return t;
            }
        };
        context = new SpringApplicationBuilder(LlamaServeApplication.class)
                .initializers(c -> c.getBeanFactory().registerSingleton("benchModelLoadHooks", hooks))
                .run(p.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new));
        int port = ((WebServerApplicationContext) context).getWebServer().getPort();
        base = URI.create("http://127.0.0.1:" + port);
        this.decodeTokens = decodeTokens;
        long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
        while (status(ProbePaths.READYZ) != 200) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the service did not get ready in 10 minutes");
            }
            Thread.sleep(200);
        }
    }

    /** {@link JavaCpu} over the whole {@code spanAt}-stream run of the last {@link #aggregate}. */
    private double otherJavaCpuPct;

    double otherJavaCpuPct() {
        return otherJavaCpuPct;
    }

    /** One streamed completion as the client saw it: when each token frame arrived. */
    record Stream(long[] tokenNanos) {}

    /**
     * Aggregate decode tok/s through HTTP/SSE keyed by stream count, measured as the engine-only figure is (over
     * the window in which all streams decode, {@link DecodeWindow}).
     */
    Map<String, Double> aggregate(int[] streams, int spanAt, TimedLm.Span[] span) {
        Map<String, Double> out = new LinkedHashMap<>();
        warmUp();
        for (int s : streams) {
            JavaCpu cpu = JavaCpu.start();
            List<long[]> arrivals = arrivals(s);
            out.put(Integer.toString(s), DecodeWindow.rate(arrivals));
            if (s == spanAt) {   // the service's forward passes inside the window (one clock: same JVM)
                otherJavaCpuPct = cpu.pctOfMachine();
                long[] w = DecodeWindow.bounds(arrivals);
                span[0] = timed.get().span(w[0], w[1]);
            }
        }
        return out;
    }

    /**
     * Brings the service's request path to its steady state before anything is timed: connections and codecs, and
     * the JIT. {@value #WARM_REQUESTS} short requests at 32 in flight (what runs once per request) and 16 streams
     * of 4 x {@code decodeTokens} (what runs once per token frame). With two streams of a few tokens only, the JIT
     * was still compiling the request path during the timed rounds, minutes later: its threads took 40-240 ms of
     * every second of the HTTP rounds against about 5 in the engine-only ones (schedstat, the Zen 5), on the cores
     * the forward passes use.
     */
    private void warmUp() {
        run(2, decodeTokens / 4);
        soak(WARM_REQUESTS, 32, 4, () -> { });
        run(16, decodeTokens * 4);
    }

    /** Aggregate decode tok/s of {@code streams} streams started together, as {@link #aggregate} measures it. */
    double rate(int streams) {
        return DecodeWindow.rate(arrivals(streams));
    }

    /** {@code streams} streams of {@code decodeTokens} started together: each one's token arrival times. */
    private List<long[]> arrivals(int streams) {
        return run(streams, decodeTokens).stream().map(Stream::tokenNanos).toList();
    }

    /**
     * The service's own engine driven without HTTP ({@link InferenceEngine#submit}, as the engine-only runs drive
     * theirs): the same model, engine and settings as the requests through HTTP, so that the two can be timed in
     * turns within minutes of each other.
     */
    EngineRuns engineSide() {
        InferenceEngine e = context.getBean(ModelLifecycle.class).engine();
        if (e == null) {
            throw new IllegalStateException("the service has no engine (not loaded)");
        }
        return new EngineRuns(e, timed.get(), decodeTokens);
    }

    /** {@code n} requests with {@code concurrency} in flight; {@code everyThousand} after each thousandth is sent. */
    void soak(int n, int concurrency, int maxTokens, Runnable everyThousand) {
        List<CompletableFuture<Stream>> inFlight = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (inFlight.size() == concurrency) {
                inFlight.remove(0).join();
            }
            inFlight.add(stream(EngineRuns.prompt(EngineRuns.SHORT_PROMPT, salt++), maxTokens));
            if ((i + 1) % 1000 == 0) {
                everyThousand.run();
            }
        }
        inFlight.forEach(CompletableFuture::join);
    }

    private List<Stream> run(int streams, int maxTokens) {
        List<CompletableFuture<Stream>> fs = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            fs.add(stream(EngineRuns.prompt(EngineRuns.SHORT_PROMPT, salt++), maxTokens));
        }
        return fs.stream().map(CompletableFuture::join).toList();
    }

    private CompletableFuture<Stream> stream(int[] prompt, int maxTokens) {
        StringBuilder ids = new StringBuilder();
        for (int id : prompt) {
            ids.append(ids.isEmpty() ? "" : ",").append(id);
        }
        String body = "{\"prompt\":[" + ids + "],\"max_tokens\":" + maxTokens
                + ",\"temperature\":0,\"ignore_eos\":true,\"stream\":true}";
        HttpRequest req = HttpRequest.newBuilder(base.resolve("/v1/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        return client.sendAsync(req, HttpResponse.BodyHandlers.fromLineSubscriber(new FrameTimes(), FrameTimes::stream,
                "\n")).thenApply(resp -> {
            if (resp.statusCode() != 200) {
                throw new IllegalStateException("HTTP " + resp.statusCode() + " from /v1/completions");
            }
            return resp.body();
        });
    }

    /** When each token frame of one stream arrived, recorded as the lines come in (never blocks a thread). */
    private static final class FrameTimes implements Flow.Subscriber<String> {
        private final List<Long> times = new ArrayList<>();
        private String error;

        @Override
        public void onSubscribe(Flow.Subscription s) {
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(String line) {
            // a token frame has text; the finish frame's text is empty ("text":"") and [DONE] ends the stream
            if (line.startsWith("data: {\"error\"") && error == null) {
                error = line;
            } else if (line.startsWith("data: {") && !line.contains("\"text\":\"\"")) {
                times.add(System.nanoTime());
            }
        }

        @Override
        public void onError(Throwable t) {
            error = t.toString();
        }

        @Override
        public void onComplete() {
        }

        Stream stream() {
            if (error != null) {
                throw new IllegalStateException("error frame: " + error);
            }
            return new Stream(times.stream().mapToLong(Long::longValue).toArray());
        }
    }

    private int status(String path) {
        try {
            return client.send(HttpRequest.newBuilder(base.resolve(path)).GET().build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    @Override
    public void close() {
        context.close();
        clientThread.shutdownNow();
    }
}
