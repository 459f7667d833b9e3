package dev.llamaserve.api.openai;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.ModelInfo;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * {@code POST /v1/chat/completions}: parses and validates the body, encodes the prompt through
 * {@link ChatPromptEncoder}, submits to the {@link InferenceEngine}, and answers with one JSON
 * completion or an SSE stream. A client that disconnects aborts its request in the engine.
 */
@RestController
public class ChatCompletionsController {

    private static final Logger log = LoggerFactory.getLogger(ChatCompletionsController.class);

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
                .doOnNext(p -> CompletionAttributes.put(exchange, p.request().requestId(), p.responses().model()))
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

    private Flux<EngineEvent> submit(Prepared p, EngineExchange x) {
        return Mono.fromCallable(() -> engine.submit(p.request())).flatMapMany(x::events);
    }

    private EngineExchange exchange(Prepared p) {
        return new EngineExchange(engine, p.requestId(), p.request().requestId());
    }

    private Mono<Void> complete(ServerHttpResponse response, Prepared p) {
        EngineExchange x = exchange(p);
        ChatCompletionCollector collector = new ChatCompletionCollector(p.responses(), p.toolsEnabled(),
                startTokens(), logprobs(p));
        return x.abortUnlessFinished(submit(p, x)
                .<ChatWire.ChatCompletion>handle((event, sink) -> {
                    if (event instanceof EngineEvent.Tokens t) {
                        collector.onTokens(t);
                    } else {
                        sink.next(collector.finish((EngineEvent.Finished) event));
                    }
                })
                .next()
                .switchIfEmpty(Mono.error(() -> ApiException.internal("The engine ended the request without a result.")))
                .flatMap(completion -> JsonResponses.write(response, completion)));
    }

    private Mono<Void> stream(ServerHttpResponse response, Prepared p) {
        EngineExchange x = exchange(p);
        ChatStreamAssembler assembler = new ChatStreamAssembler(p.responses(), p.toolsEnabled(),
                startTokens(), logprobs(p), p.params().includeUsage());
        // submit first: overload and validation errors are plain HTTP errors, before any byte of the stream
        return x.abortUnlessFinished(Mono.fromCallable(() -> engine.submit(p.request())).flatMap(publisher -> {
            Flux<String> frames = Flux.concat(
                            Mono.fromCallable(assembler::start),
                            x.events(publisher).concatMapIterable(assembler::onEvent),
                            Flux.defer(() -> assembler.done() ? Flux.<String>empty()
                                    : Flux.fromIterable(assembler.error(
                                            ApiException.internal("The engine ended the request without a result.")))))
                    .onErrorResume(e -> {
                        log.warn("request_id={} id={} failed mid-stream", p.requestId(), p.request().requestId(), e);
                        return Flux.fromIterable(assembler.error(ApiErrors.from(e, settings)));
                    });
            return EngineExchange.writeSse(response, frames, settings.keepAliveInterval());
        }));
    }

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
