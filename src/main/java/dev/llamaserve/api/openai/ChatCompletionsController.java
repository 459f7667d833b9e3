package dev.llamaserve.api.openai;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.ModelInfo;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.adapter.JdkFlowAdapter;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Signal;
import reactor.core.scheduler.Schedulers;

/**
 * {@code POST /v1/chat/completions}: parses and validates the body, encodes the prompt through
 * {@link ChatPromptEncoder}, submits to the {@link InferenceEngine}, and answers with one JSON
 * completion or an SSE stream. A client that disconnects aborts its request in the engine.
 */
@RestController
public class ChatCompletionsController {

    private static final Logger log = LoggerFactory.getLogger(ChatCompletionsController.class);
    static final String KEEP_ALIVE = ": keep-alive\n\n";

    private final InferenceEngine engine;
    private final ChatPromptEncoder encoder;
    private final ServedModel served;
    private final ApiSettings settings;
    private volatile ToolCallStartTokens startTokens;

    public ChatCompletionsController(InferenceEngine engine, ChatPromptEncoder encoder, ServedModel served,
            ApiSettings settings) {
        this.engine = engine;
        this.encoder = encoder;
        this.served = served;
        this.settings = settings;
    }

    /** A request ready to submit. */
    record Prepared(String requestId, ChatCompletionParams params, GenerationRequest request, ChatResponses responses,
            boolean toolsEnabled) {}

    @PostMapping("/v1/chat/completions")
    public Mono<Void> create(ServerWebExchange exchange) {
        String requestId = RequestIdFilter.requestId(exchange);
        return JsonResponses.readBody(exchange.getRequest(), settings.maxBodyBytes())
                .publishOn(Schedulers.boundedElastic())
                .map(body -> prepare(requestId, body))
                .flatMap(p -> p.params().stream() ? stream(exchange.getResponse(), p) : complete(exchange.getResponse(), p));
    }

    Prepared prepare(String requestId, byte[] body) {
        ModelInfo info = engine.modelInfo();
        ChatCompletionParams params = new ChatCompletionRequestParser(info.vocabSize()).parse(body);
        if (params.model() != null && !served.answersTo(params.model()) && !settings.acceptAnyModel()) {
            throw ApiException.modelNotFound(params.model());
        }
        ChatPromptEncoder.EncodedPrompt prompt = encoder.encode(
                new ChatPromptEncoder.ChatPrompt(params.messages(), params.tools(), params.chatTemplateKwargs()));
        int promptTokens = prompt.tokenIds().length;
        int maxLen = info.maxModelLen();
        if (promptTokens >= maxLen) {
            throw ApiException.invalid("messages", "context_length_exceeded", "This model's maximum context length is "
                    + maxLen + " tokens. However, your messages resulted in " + promptTokens
                    + " tokens. Please reduce the length of the messages.");
        }
        Integer maxTokens = params.sampling().maxTokens();
        if (maxTokens != null && (long) promptTokens + maxTokens > maxLen) {
            throw ApiException.invalid("max_tokens", "context_length_exceeded", "This model's maximum context length is "
                    + maxLen + " tokens. However, you requested " + ((long) promptTokens + maxTokens) + " tokens ("
                    + promptTokens + " in the messages, " + maxTokens
                    + " in the completion). Please reduce the length of the messages or completion.");
        }
        String id = ChatResponses.newCompletionId();
        String model = params.model() != null ? params.model() : served.name();
        ChatResponses responses = new ChatResponses(id, Instant.now().getEpochSecond(), model);
        GenerationRequest request = new GenerationRequest(id, prompt.tokenIds(), params.sampling());
        log.info("request_id={} id={} stream={} prompt_tokens={} max_tokens={} tools={}", requestId, id,
                params.stream(), promptTokens, maxTokens, params.toolsEnabled());
        return new Prepared(requestId, params, request, responses, params.toolsEnabled());
    }

    private Flux<EngineEvent> submit(Prepared p, AtomicBoolean finished) {
        return Mono.fromCallable(() -> engine.submit(p.request()))
                .flatMapMany(publisher -> events(publisher, p, finished));
    }

    private Flux<EngineEvent> events(Flow.Publisher<EngineEvent> publisher, Prepared p, AtomicBoolean finished) {
        String id = p.request().requestId();
        return JdkFlowAdapter.flowPublisherToFlux(publisher)
                .doOnNext(e -> {
                    if (e instanceof EngineEvent.Finished f) {
                        finished.set(true);
                        log.info("request_id={} id={} finish={} prompt_tokens={} completion_tokens={}", p.requestId(),
                                id, f.reason().wireName(), f.usage() == null ? -1 : f.usage().promptTokens(),
                                f.usage() == null ? -1 : f.usage().completionTokens());
                    }
                })
                .doOnCancel(() -> {
                    if (!finished.get()) {
                        log.info("request_id={} id={} client went away; aborting", p.requestId(), id);
                        engine.abort(id);
                    }
                })
                .publishOn(Schedulers.parallel());
    }

    private Mono<Void> complete(ServerHttpResponse response, Prepared p) {
        AtomicBoolean finished = new AtomicBoolean();
        ChatCompletionCollector collector = new ChatCompletionCollector(p.responses(), p.toolsEnabled(),
                startTokens(), logprobs(p));
        return abortUnlessFinished(submit(p, finished)
                .<ChatWire.ChatCompletion>handle((event, sink) -> {
                    if (event instanceof EngineEvent.Tokens t) {
                        collector.onTokens(t);
                    } else {
                        sink.next(collector.finish((EngineEvent.Finished) event));
                    }
                })
                .next()
                .switchIfEmpty(Mono.error(() -> ApiException.internal("The engine ended the request without a result.")))
                .flatMap(completion -> JsonResponses.write(response, completion)), engine, p.requestId(),
                p.request().requestId(), finished);
    }

    /**
     * Aborts the request in the engine when {@code exchange} ends (completes, fails or is cancelled) before the
     * request's {@code Finished} event was seen. Cancelling the event stream is not enough: a client that goes
     * away between the submit and the subscription (the response write never subscribes to a closed
     * connection's body, a cancelled {@code fromCallable} drops its value) leaves a stream nobody subscribed,
     * and the request would run to its max_tokens. Aborting twice or after the end is harmless.
     */
    static Mono<Void> abortUnlessFinished(Mono<Void> exchange, InferenceEngine engine, String requestId, String id,
            AtomicBoolean finished) {
        return exchange.doFinally(signal -> {
            if (!finished.get() && engine.abort(id)) {
                log.debug("request_id={} id={} exchange ended ({}) before the request finished; aborted", requestId,
                        id, signal);
            }
        });
    }

    private Mono<Void> stream(ServerHttpResponse response, Prepared p) {
        AtomicBoolean finished = new AtomicBoolean();
        ChatStreamAssembler assembler = new ChatStreamAssembler(p.responses(), p.toolsEnabled(),
                startTokens(), logprobs(p), p.params().includeUsage());
        // submit first: overload and validation errors are plain HTTP errors, before any byte of the stream
        return abortUnlessFinished(Mono.fromCallable(() -> engine.submit(p.request())).flatMap(publisher -> {
            Flux<String> frames = Flux.concat(
                            Mono.fromCallable(assembler::start),
                            events(publisher, p, finished).concatMapIterable(assembler::onEvent),
                            Flux.defer(() -> assembler.done() ? Flux.<String>empty()
                                    : Flux.fromIterable(assembler.error(
                                            ApiException.internal("The engine ended the request without a result.")))))
                    .onErrorResume(e -> {
                        log.warn("request_id={} id={} failed mid-stream", p.requestId(), p.request().requestId(), e);
                        return Flux.fromIterable(assembler.error(ApiErrors.from(e, settings)));
                    });
            response.setStatusCode(HttpStatus.OK);
            HttpHeaders headers = response.getHeaders();
            headers.setContentType(MediaType.TEXT_EVENT_STREAM);
            headers.setCacheControl("no-cache");
            headers.set("X-Accel-Buffering", "no");
            return response.writeAndFlushWith(withKeepAlive(frames, settings.keepAliveInterval())
                    .map(s -> Mono.just(response.bufferFactory().wrap(s.getBytes(StandardCharsets.UTF_8)))));
        }), engine, p.requestId(), p.request().requestId(), finished);
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

    /** One cache of tool-call start ids per detokenizer (it is only consulted for requests with tools). */
    private ToolCallStartTokens startTokens() {
        Detokenizer detokenizer = engine.detokenizer();
        ToolCallStartTokens current = startTokens;
        if (current == null || !current.serves(detokenizer)) {
            current = new ToolCallStartTokens(detokenizer);
            startTokens = current;
        }
        return current;
    }

    private LogprobsRenderer logprobs(Prepared p) {
        return p.params().logprobs()
                ? new LogprobsRenderer(engine.detokenizer(), p.params().returnTokensAsTokenIds(), p.params().topLogprobs())
                : null;
    }
}
