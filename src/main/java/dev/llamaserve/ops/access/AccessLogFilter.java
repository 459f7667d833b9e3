package dev.llamaserve.ops.access;

import dev.llamaserve.api.openai.ApiErrors;
import dev.llamaserve.api.openai.ApiSettings;
import dev.llamaserve.api.openai.CompletionAttributes;
import dev.llamaserve.api.openai.RequestIdFilter;
import dev.llamaserve.ops.RequestAttributes;
import dev.llamaserve.ops.metrics.KeyTokenMetrics;
import dev.llamaserve.ops.metrics.RefusalMetrics;
import dev.llamaserve.ops.metrics.RequestTrace;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;
import org.springframework.core.Ordered;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.server.PathContainer;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import org.springframework.web.util.pattern.PathPattern;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;

/**
 * One access-log line per request, on logger {@value #LOGGER}, when the exchange ends: request id, key id,
 * method, endpoint, model, status, prompt and completion tokens, time to first token, duration, finish reason,
 * whether the client went away. Never any prompt or output text. The fields are also SLF4J key-values, so
 * Spring Boot's structured logging ({@code logging.structured.format.console=ecs}) writes them as JSON fields.
 * Also counts 429/503 answers (outside the excluded paths) and each key's tokens. Runs first among the operations filters (after the request
 * id), so refusals by auth, lifecycle and rate limits are logged with their status.
 */
public final class AccessLogFilter implements WebFilter, Ordered {

    public static final String LOGGER = "llama-serve.access";
    public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 10;

    private static final Logger log = LoggerFactory.getLogger(LOGGER);

    private final ApiSettings settings;
    private final Function<String, RequestTrace.Summary> traces;
    private final RefusalMetrics refusals;
    private final KeyTokenMetrics keyTokens;
    private final List<PathPattern> excluded;

    /**
     * @param traces a request's trace by its engine request id (null when unknown)
     * @param excluded paths neither logged nor counted as refusals (probes, actuator)
     */
    public AccessLogFilter(ApiSettings settings, Function<String, RequestTrace.Summary> traces,
            RefusalMetrics refusals, KeyTokenMetrics keyTokens, List<PathPattern> excluded) {
        this.settings = settings;
        this.traces = traces;
        this.refusals = refusals;
        this.keyTokens = keyTokens;
        this.excluded = List.copyOf(excluded);
    }

    @Override
    public int getOrder() {
        return ORDER;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        long start = System.nanoTime();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        return chain.filter(exchange)
                .doOnError(failure::set)
                .doFinally(signal -> ended(exchange, start, signal, failure.get()));
    }

    private void ended(ServerWebExchange exchange, long start, SignalType signal, Throwable failure) {
        int status = status(exchange, signal, failure);
        String engineId = CompletionAttributes.engineRequestId(exchange);
        RequestTrace.Summary trace = engineId == null ? null : traces.apply(engineId);
        String keyId = RequestAttributes.keyId(exchange);
        if (trace != null) {
            keyTokens.add(keyId, trace.promptTokens(), trace.completionTokens());
        }
        PathContainer path = exchange.getRequest().getPath().pathWithinApplication();
        if (excluded.stream().anyMatch(p -> p.matches(path))) {
            return;   // a probe's 503 (loading, draining) is a health report, not a refused request
        }
        refusals.httpStatus(status);
        log(new AccessRecord(RequestIdFilter.requestId(exchange), keyId, exchange.getRequest().getMethod().name(),
                path.value(), CompletionAttributes.model(exchange), status, trace,
                (System.nanoTime() - start) / 1_000_000, clientClosed(signal, trace, failure)));
    }

    /**
     * Whether the client went away before the response ended: the chain cancelled; the engine request given up
     * by its caller, as {@code llm_client_disconnects_total} counts it; or an exchange that ended without an
     * error before its engine request had a finish reason (a stream whose connection dropped: WebFlux ends the
     * chain without a cancel, and {@code EngineExchange} aborts the request only after this filter's end, its
     * doFinally being the inner one). {@link AccessRecord} logs an unfinished request of a client that left as
     * {@code abort}.
     */
    private static boolean clientClosed(SignalType signal, RequestTrace.Summary trace, Throwable failure) {
        return signal == SignalType.CANCEL
                || (trace != null && (trace.disconnected() || failure == null && trace.finishReason() == null));
    }

    /** The status the client got: the response's, or for a failure the one error map's (its handler runs later). */
    private int status(ServerWebExchange exchange, SignalType signal, Throwable failure) {
        HttpStatusCode set = exchange.getResponse().getStatusCode();
        if (failure != null && !exchange.getResponse().isCommitted()) {
            return ApiErrors.from(failure, settings).status();
        }
        if (signal == SignalType.CANCEL && !exchange.getResponse().isCommitted()) {
            return ApiErrors.CLIENT_CLOSED;   // gone before any byte: a status set for the answer never reached it
        }
        if (set != null) {
            return set.value();
        }
        return signal == SignalType.CANCEL ? ApiErrors.CLIENT_CLOSED : 200;
    }

    private static void log(AccessRecord r) {
        if (!log.isInfoEnabled()) {
            return;
        }
        LoggingEventBuilder b = log.atInfo();
        r.fields().forEach(b::addKeyValue);
        b.log(r.message());
    }
}
