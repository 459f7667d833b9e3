package dev.llamaserve.api.openai;

import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.chat.ChatInput;
import dev.llamaserve.chat.ToolCallParser;
import dev.llamaserve.chat.ToolCallStartTokens;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Lazy;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * {@code POST /v1/chat/completions}: parses the body (JSON types), renders and encodes the prompt through
 * {@link ChatFormat}, submits to the {@link InferenceEngine} (which validates ranges and the context
 * length), and answers with one JSON completion or an SSE stream. A client that disconnects aborts its
 * request in the engine. Runs on the connection's event loop up to the submit (which never blocks), and the
 * engine delivers the events back onto that event loop: one hand-off each way.
 */
/* Lazy: ChatFormat exists once the model is loaded; the lifecycle gate refuses this route until then. */
@Lazy
@RestController
public class ChatCompletionsController {

    private static final Logger log = LoggerFactory.getLogger(ChatCompletionsController.class);

    private final InferenceEngine engine;
    private final ChatFormat chatFormat;
    private final ServedModel served;
    private final ApiSettings settings;
    private final TokenAdmission admission;
    private volatile ToolCallStartTokens startTokens;

    public ChatCompletionsController(InferenceEngine engine, ChatFormat chatFormat, ServedModel served,
            ApiSettings settings, TokenAdmission admission) {
        this.engine = engine;
        this.chatFormat = chatFormat;
        this.served = served;
        this.settings = settings;
        this.admission = admission;
    }

    /** A request ready to submit. */
    record Prepared(String requestId, ChatCompletionParams params, GenerationRequest request, ChatResponses responses,
            boolean toolsEnabled) {}

    @PostMapping("/v1/chat/completions")
    public Mono<Void> create(ServerWebExchange exchange) {
        String requestId = RequestIdFilter.requestId(exchange);
        return JsonResponses.readBody(exchange.getRequest(), settings, body -> {
                    Prepared p = prepare(requestId, body);
                    // a request the engine would refuse (400, 503) is refused before it is charged to the caller's quota
                    admission.admit(exchange, p.request(), engine);
                    return p;
                })
                .doOnNext(p -> CompletionAttributes.put(exchange, p.request().requestId(), p.responses().model()))
                .flatMap(p -> p.params().stream() ? stream(exchange, p) : complete(exchange, p));
    }

    Prepared prepare(String requestId, byte[] body) {
        ChatCompletionParams params = new ChatCompletionRequestParser().parse(body);
        served.check(params.model(), settings);
        ChatInput input = new ChatInput(params.messages(), params.tools(), params.addGenerationPrompt(),
                params.chatTemplateKwargs(), params.continueFinalMessage());
        int[] prompt = chatFormat.prepare(input, engine.modelInfo().maxModelLen()).tokenIds();
        String id = ChatResponses.newCompletionId();
        String model = params.model() != null ? params.model() : served.name();
        ChatResponses responses = new ChatResponses(id, Instant.now().getEpochSecond(), model);
        GenerationRequest request = new GenerationRequest(id, prompt, params.sampling(), params.names());
        log.info("request_id={} id={} stream={} prompt_tokens={} max_tokens={} n={} tools={}", requestId, id,
                params.stream(), prompt.length, params.sampling().maxTokens(), params.sampling().choices(),
                params.toolsEnabled());
        return new Prepared(requestId, params, request, responses, params.toolsEnabled());
    }

    private Mono<Void> complete(ServerWebExchange exchange, Prepared p) {
        ServerHttpResponse response = exchange.getResponse();
        EngineExchange x = new EngineExchange(engine, p.request(), exchange);
        int n = p.request().params().choices();
        ChatCompletionCollector[] collectors = new ChatCompletionCollector[n];
        ToolCallParser.Calls calls = p.params().toolCalls();   // one per request, not per choice
        for (int i = 0; i < n; i++) {
            collectors[i] = new ChatCompletionCollector(p.responses(), p.toolsEnabled(), calls, startTokens(),
                    logprobs(p), p.requestId());
        }
        ChatWire.Choice[] choices = new ChatWire.Choice[n];
        EngineEvent.Usage[] usages = new EngineEvent.Usage[n];
        RequestFailure failure = new RequestFailure(p.requestId());
        return x.abortUnlessFinished(x.submit().flatMapMany(events -> events)
                .<ChatWire.ChatCompletion>handle((event, sink) -> {
                    if (failure.passOver(event)) {
                        return;
                    }
                    if (event instanceof EngineEvent.Tokens t) {
                        collectors[t.index()].onTokens(t);
                    } else {
                        EngineEvent.Finished f = (EngineEvent.Finished) event;
                        choices[f.index()] = collectors[f.index()].choice(f);
                        usages[f.index()] = f.usage();
                        if (f.last()) {
                            sink.next(p.responses().completion(Arrays.stream(choices).filter(Objects::nonNull).toList(),
                                    EngineEvent.Usage.ofChoices(Arrays.asList(usages))));
                        }
                    }
                })
                .next()
                .switchIfEmpty(Mono.error(() -> ApiErrors.noResult(p.requestId())))
                .flatMap(completion -> JsonResponses.write(response, completion)));
    }

    private Mono<Void> stream(ServerWebExchange exchange, Prepared p) {
        ServerHttpResponse response = exchange.getResponse();
        EngineExchange x = new EngineExchange(engine, p.request(), exchange);
        ToolCallParser.Calls calls = p.params().toolCalls();   // one per request, not per choice
        ChatChoicesStream assembler = new ChatChoicesStream(p.request().params().choices(), p.responses(),
                p.params().includeUsage(), i -> new ChatStreamAssembler(p.responses(), p.toolsEnabled(), calls,
                        startTokens(), logprobs(p), p.params().includeUsage(), p.requestId(), i, false));
        // submit first: overload and validation errors are plain HTTP errors, before any byte of the stream
        return x.abortUnlessFinished(x.submit().flatMap(events -> {
            Flux<String> frames = Flux.concat(
                            Flux.defer(() -> Flux.fromIterable(assembler.start())),
                            events.concatMapIterable(assembler::onEvent),
                            Flux.defer(() -> assembler.done() ? Flux.<String>empty()
                                    : Flux.fromIterable(assembler.error(ApiErrors.noResult(p.requestId())))))
                    .onErrorResume(e -> {
                        log.warn("request_id={} id={} failed mid-stream", p.requestId(), p.request().requestId(), e);
                        return Flux.fromIterable(assembler.error(ApiErrors.from(e, settings, p.requestId())));
                    });
            return EngineExchange.writeSse(response, frames, settings.keepAliveInterval());
        }));
    }

    private ToolCallStartTokens startTokens() {
        ToolCallStartTokens current = ToolCallStartTokens.reuse(startTokens, engine.detokenizer());
        startTokens = current;
        return current;
    }

    private LogprobsRenderer logprobs(Prepared p) {
        return p.params().logprobs()
                ? new LogprobsRenderer(engine.detokenizer(), p.params().returnTokensAsTokenIds(), p.params().topLogprobs())
                : null;
    }
}
