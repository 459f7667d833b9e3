package dev.llamaserve.api.openai;

import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.Submission;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.observation.ServerRequestObservationContext;
import org.springframework.web.server.ServerWebExchange;
import reactor.adapter.JdkFlowAdapter;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Signal;
import reactor.netty.Connection;

/**
 * What the chat and completions endpoints share about one request in the engine: its submission (which
 * aborts the request when the HTTP exchange ends first), its event stream as a Flux, and SSE writing with
 * keep-alive comments.
 *
 * @param submission the request and its engine
 * @param requestId the client's {@code X-Request-Id}, for logs
 * @param eventLoop the connection's event loop, where the engine delivers the events; null: the engine's
 *     delivery threads
 * @param attributes the exchange's attributes (where its HTTP server observation is)
 */
record EngineExchange(Submission submission, String requestId, Executor eventLoop, Map<String, Object> attributes) {

    private static final Logger log = LoggerFactory.getLogger(EngineExchange.class);

    static final String KEEP_ALIVE = ": keep-alive\n\n";

    EngineExchange(InferenceEngine engine, GenerationRequest request, ServerWebExchange exchange) {
        this(new Submission(engine, request), RequestIdFilter.requestId(exchange), eventLoop(exchange),
                exchange.getAttributes());
    }

    /** The Netty event loop of the exchange's connection, or null when it is not served by Reactor Netty. */
    static Executor eventLoop(ServerWebExchange exchange) {
        try {
            Object nativeRequest = ServerHttpRequestDecorator.getNativeRequest(exchange.getRequest());
            return nativeRequest instanceof Connection c ? c.channel().eventLoop() : null;
        } catch (IllegalArgumentException | IllegalStateException e) {
            return null;   // not Reactor Netty's, or a channel already closed and deregistered (the client left)
        }
    }

    /** The engine's id of the request (the completion id). */
    String id() {
        return submission.request().requestId();
    }

    /**
     * Submits the request: the engine's refusals (validation, overload) fail the Mono before any byte is
     * written. The engine delivers the events on the connection's event loop, which writes them (one hand-off
     * from the engine thread); the end is logged (counts only).
     */
    Mono<Flux<EngineEvent>> submit() {
        return Mono.fromCallable(() -> submission.submit(eventLoop)).map(publisher -> JdkFlowAdapter.flowPublisherToFlux(publisher)
                .doOnNext(e -> {
                    if (e instanceof EngineEvent.Finished f) {
                        log.info("request_id={} id={} choice={} finish={} prompt_tokens={} cached_tokens={} "
                                        + "completion_tokens={}", requestId, id(), f.index(), f.reason().wireName(),
                                f.usage() == null ? -1 : f.usage().promptTokens(),
                                f.usage() == null ? -1 : f.usage().cachedTokens(),
                                f.usage() == null ? -1 : f.usage().completionTokens());
                    }
                }));
    }

    /**
     * Aborts the request in the engine when {@code exchange} ends (completes, fails or is cancelled: the client
     * went away) before the request's {@code Finished} event was seen. An exchange that completes that early is a
     * stream whose connection dropped (Reactor Netty completes writes to a closed connection): its HTTP server
     * observation is marked aborted, so {@code http_server_requests} records it as a non-streamed request whose
     * client left ({@code UNKNOWN}), not as a 200 success.
     */
    Mono<Void> abortUnlessFinished(Mono<Void> exchange) {
        return exchange.doOnSuccess(done -> {
            if (!submission.finished()) {
                ServerRequestObservationContext.findCurrent(attributes).ifPresent(c -> c.setConnectionAborted(true));
            }
        }).doFinally(signal -> {
            if (submission.abandon()) {
                log.info("request_id={} id={} exchange ended ({}) before the request finished; aborted", requestId,
                        id(), signal);
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
