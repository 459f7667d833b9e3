package dev.llamaserve.api.openai;

import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.InferenceEngine;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import reactor.adapter.JdkFlowAdapter;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Signal;
import reactor.core.scheduler.Schedulers;

/**
 * What the chat and completions endpoints share about one request in the engine: its event stream as a
 * Flux, the abort when the HTTP exchange ends first, and SSE writing with keep-alive comments.
 *
 * @param engine the engine the request was submitted to
 * @param requestId the client's {@code X-Request-Id}, for logs
 * @param id the engine's request id (the completion id)
 * @param finished set once the request's {@code Finished} event was seen
 */
record EngineExchange(InferenceEngine engine, String requestId, String id, AtomicBoolean finished) {

    private static final Logger log = LoggerFactory.getLogger(EngineExchange.class);

    static final String KEEP_ALIVE = ": keep-alive\n\n";

    EngineExchange(InferenceEngine engine, String requestId, String id) {
        this(engine, requestId, id, new AtomicBoolean());
    }

    /** The request's events, delivered off the engine's delivery threads; the end is logged (counts only). */
    Flux<EngineEvent> events(Flow.Publisher<EngineEvent> publisher) {
        return JdkFlowAdapter.flowPublisherToFlux(publisher)
                .doOnNext(e -> {
                    if (e instanceof EngineEvent.Finished f) {
                        finished.set(true);
                        log.info("request_id={} id={} finish={} prompt_tokens={} completion_tokens={}", requestId,
                                id, f.reason().wireName(), f.usage() == null ? -1 : f.usage().promptTokens(),
                                f.usage() == null ? -1 : f.usage().completionTokens());
                    }
                })
                .publishOn(Schedulers.parallel());
    }

    /**
     * Aborts the request in the engine when {@code exchange} ends (completes, fails or is cancelled: the client
     * went away) before the request's {@code Finished} event was seen. Cancelling the event stream alone is not
     * enough: a client that goes away between the submit and the subscription (the response write never
     * subscribes to a closed connection's body, a cancelled {@code fromCallable} drops its value) leaves a
     * stream nobody subscribed, and the request would run to its max_tokens. Aborting twice or after the end
     * is harmless.
     */
    Mono<Void> abortUnlessFinished(Mono<Void> exchange) {
        return exchange.doFinally(signal -> {
            if (!finished.get() && engine.abort(id)) {
                log.info("request_id={} id={} exchange ended ({}) before the request finished; aborted", requestId,
                        id, signal);
            }
        });
    }

    /** Writes {@code frames} as {@code text/event-stream}, with keep-alive comments during silences. */
    static Mono<Void> writeSse(ServerHttpResponse response, Flux<String> frames, Duration keepAliveInterval) {
        response.setStatusCode(HttpStatus.OK);
        HttpHeaders headers = response.getHeaders();
        headers.setContentType(MediaType.TEXT_EVENT_STREAM);
        headers.setCacheControl("no-cache");
        headers.set("X-Accel-Buffering", "no");
        return response.writeAndFlushWith(withKeepAlive(frames, keepAliveInterval)
                .map(s -> Mono.just(response.bufferFactory().wrap(s.getBytes(StandardCharsets.UTF_8)))));
    }

    /** Adds {@link #KEEP_ALIVE} comment lines whenever {@code frames} was silent for {@code interval}. */
    static Flux<String> withKeepAlive(Flux<String> frames, Duration interval) {
        long intervalNanos = interval.toNanos();
        AtomicLong lastWrite = new AtomicLong(System.nanoTime());
        Flux<Signal<String>> main = frames.doOnNext(f -> lastWrite.set(System.nanoTime())).materialize();
        Duration tick = interval.dividedBy(4).isZero() ? interval : interval.dividedBy(4);
        Flux<Signal<String>> ticks = Flux.interval(tick, tick)
                .filter(t -> System.nanoTime() - lastWrite.get() >= intervalNanos)
                .map(t -> {
                    lastWrite.set(System.nanoTime());
                    return Signal.next(KEEP_ALIVE);
                });
        return Flux.merge(main, ticks)
                .takeUntil(s -> s.isOnComplete() || s.isOnError())
                .dematerialize();
    }
}
