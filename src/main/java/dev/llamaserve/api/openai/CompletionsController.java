package dev.llamaserve.api.openai;

import static dev.llamaserve.api.openai.JsonFields.bool;
import static dev.llamaserve.api.openai.JsonFields.field;
import static dev.llamaserve.api.openai.JsonFields.int32;
import static dev.llamaserve.api.openai.JsonFields.integer;
import static dev.llamaserve.api.openai.JsonFields.string;
import static dev.llamaserve.api.openai.JsonFields.typeError;

import dev.llamaserve.chat.PromptDryRun;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.SamplingParams;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.context.annotation.Lazy;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.JsonNode;

/**
 * {@code POST /v1/completions} (the legacy text completion), JSON or SSE. The prompt is a string (special-token
 * text in it is parsed, as a raw completion prompt is written by hand; {@code <|begin_of_text|>} is put first
 * unless it is already there) or an array of token ids used as given. {@code logprobs} (0-20) answers in the
 * legacy shape. {@code n} takes 1-16 choices. {@code echo}, {@code suffix}, {@code best_of} > 1 and batched prompts are
 * 400s.
 * A client that disconnects aborts its request in the engine.
 */
/* Lazy: PromptDryRun exists once the model is loaded; the lifecycle gate refuses this route until then. */
@Lazy
@RestController
public class CompletionsController {

    private static final Logger log = LoggerFactory.getLogger(CompletionsController.class);
    static final int DEFAULT_MAX_TOKENS = 16;

    private final InferenceEngine engine;
    private final PromptDryRun dryRun;
    private final ServedModel served;
    private final ApiSettings settings;
    private final TokenAdmission admission;

    public CompletionsController(InferenceEngine engine, PromptDryRun dryRun, ServedModel served, ApiSettings settings,
            TokenAdmission admission) {
        this.engine = engine;
        this.dryRun = dryRun;
        this.served = served;
        this.settings = settings;
        this.admission = admission;
    }

    record Prepared(String requestId, GenerationRequest request, String model, long created, boolean stream,
            boolean includeUsage, Integer logprobs, boolean tokenIds) {}

    @PostMapping("/v1/completions")
    public Mono<Void> create(ServerWebExchange exchange) {
        String requestId = RequestIdFilter.requestId(exchange);
        return JsonResponses.readBody(exchange.getRequest(), settings, body -> {
                    Prepared p = prepare(requestId, body);
                    // a request the engine would refuse (400, 503) is refused before it is charged to the caller's quota
                    admission.admit(exchange, p.request(), engine);
                    return p;
                })
                .doOnNext(p -> CompletionAttributes.put(exchange, p.request().requestId(), p.model()))
                .flatMap(p -> p.stream() ? stream(exchange, p) : complete(exchange, p));
    }

    Prepared prepare(String requestId, byte[] body) {
        JsonNode root = ChatCompletionRequestParser.readObject(body);
        String model = string(root, "model");
        served.check(model, settings);
        if (Boolean.TRUE.equals(bool(root, "echo"))) {
            throw ApiException.invalid("echo", "unsupported_value", "'echo' is not supported");
        }
        JsonNode suffix = field(root, "suffix");
        if (suffix != null) {
            throw ApiException.invalid("suffix", "unsupported_value", "'suffix' is not supported");
        }
        Long bestOf = integer(root, "best_of", 1, 128);
        if (bestOf != null && bestOf > 1) {
            throw ApiException.invalid("best_of", "unsupported_value", "'best_of' > 1 is not supported, got " + bestOf);
        }
        VllmOptionsNotServed.refuse(root, false);
        Integer logprobs = int32(root, "logprobs");
        boolean stream = Boolean.TRUE.equals(bool(root, "stream"));
        boolean includeUsage = ChatCompletionRequestParser.streamOptions(root, stream);
        boolean tokenIds = Boolean.TRUE.equals(bool(root, "return_tokens_as_token_ids"));
        SamplingParams sampling = ChatCompletionRequestParser.sampling(root, logprobs).toBuilder()
                .constraint(ConstraintParser.responseFormat(root)).build();
        if (sampling.maxTokens() == null) {
            sampling = sampling.toBuilder().maxTokens(DEFAULT_MAX_TOKENS).build();
        }
        int[] prompt = prompt(root);
        if (prompt.length == 0) {   // [] or "" without add_special_tokens
            throw ApiException.invalid("prompt", "invalid_value", "'prompt' must not be empty");
        }

        String id = "cmpl-" + UUID.randomUUID().toString().replace("-", "");
        log.info("request_id={} id={} completion stream={} prompt_tokens={} max_tokens={}", requestId, id, stream,
                prompt.length, sampling.maxTokens());
        return new Prepared(requestId, new GenerationRequest(id, prompt, sampling, GenerationRequest.ParamNames.COMPLETIONS),
                model != null ? model : served.name(), Instant.now().getEpochSecond(), stream, includeUsage,
                logprobs, tokenIds);
    }

    /** The prompt's token ids: a string tokenized, or token ids as given (the engine checks them). */
    private int[] prompt(JsonNode root) {
        JsonNode prompt = field(root, "prompt");
        if (prompt == null) {
            throw ApiException.invalid("prompt", "missing_required_parameter", "'prompt' is required");
        }
        if (prompt.isArray() && prompt.size() == 1 && (prompt.get(0).isString() || prompt.get(0).isArray())) {
            prompt = prompt.get(0); // one prompt in a batch of one
        }
        if (prompt.isString()) {
            String text = prompt.asString();
            return dryRun.promptToGenerate(text, !Boolean.FALSE.equals(bool(root, "add_special_tokens")),
                    engine.modelInfo().maxModelLen());
        }
        if (!prompt.isArray()) {
            throw typeError("prompt", "a string or an array of token ids", prompt);
        }
        int[] ids = new int[prompt.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = prompt.get(i);
            if (t.isString() || t.isArray()) {
                throw ApiException.invalid("prompt", "unsupported_value",
                        "batched prompts (several prompts in one request) are not supported yet");
            }
            ids[i] = JsonFields.tokenId(t, "prompt");
        }
        return ids;
    }

    private LegacyLogprobs logprobs(Prepared p) {
        return p.logprobs() == null ? null : new LegacyLogprobs(engine.detokenizer(), p.tokenIds(), p.logprobs());
    }

    private Mono<Void> complete(ServerWebExchange exchange, Prepared p) {
        ServerHttpResponse response = exchange.getResponse();
        int n = p.request().params().choices();
        StringBuilder[] text = new StringBuilder[n];
        LegacyLogprobs[] lp = new LegacyLogprobs[n];
        List<List<CompletionWire.Logprobs>> parts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            text[i] = new StringBuilder();
            lp[i] = logprobs(p);
            parts.add(new ArrayList<>());
        }
        CompletionWire.Choice[] choices = new CompletionWire.Choice[n];
        EngineEvent.Usage[] usages = new EngineEvent.Usage[n];
        EngineExchange x = new EngineExchange(engine, p.request(), exchange);
        RequestFailure failure = new RequestFailure(p.requestId());
        return x.abortUnlessFinished(x.submit().flatMapMany(events -> events)
                .<CompletionWire.Completion>handle((event, sink) -> {
                    if (failure.passOver(event)) {
                        return;
                    }
                    if (event instanceof EngineEvent.Tokens t) {
                        text[t.index()].append(t.text());
                        if (lp[t.index()] != null) {
                            parts.get(t.index()).add(lp[t.index()].next(t.logprobs()));
                        }
                    } else {
                        EngineEvent.Finished f = (EngineEvent.Finished) event;
                        int i = f.index();
                        String reason = FinishReasons.openAi(f, p.requestId());
                        text[i].append(f.text() == null ? "" : f.text());
                        choices[i] = new CompletionWire.Choice(i, text[i].toString(),
                                lp[i] == null ? null : LegacyLogprobs.concat(parts.get(i)), reason, f.stopReason());
                        usages[i] = f.usage();
                        if (f.last()) {
                            sink.next(new CompletionWire.Completion(p.request().requestId(), p.created(), p.model(),
                                    Arrays.stream(choices).filter(Objects::nonNull).toList(), ChatWire.Usage.of(EngineEvent.Usage.ofChoices(Arrays.asList(usages)))));
                        }
                    }
                })
                .next()
                .switchIfEmpty(Mono.error(() -> ApiErrors.noResult(p.requestId())))
                .flatMap(c -> JsonResponses.write(response, c)));
    }

    private String frame(Prepared p, int index, String text, CompletionWire.Logprobs logprobs, String finishReason,
            Object stopReason) {
        return ChatStreamAssembler.frame(new CompletionWire.Completion(p.request().requestId(), p.created(), p.model(),
                List.of(new CompletionWire.Choice(index, text, logprobs, finishReason, stopReason)), null));
    }


    private Mono<Void> stream(ServerWebExchange exchange, Prepared p) {
        ServerHttpResponse response = exchange.getResponse();
        int n = p.request().params().choices();
        LegacyLogprobs[] lp = new LegacyLogprobs[n];
        for (int i = 0; i < n; i++) {
            lp[i] = logprobs(p);
        }
        EngineEvent.Usage[] usages = new EngineEvent.Usage[n];
        AtomicBoolean done = new AtomicBoolean();
        RequestFailure failure = new RequestFailure(p.requestId());
        EngineExchange x = new EngineExchange(engine, p.request(), exchange);
        return x.abortUnlessFinished(x.submit().flatMap(events -> {
            Flux<String> frames = Flux.concat(
                            events.concatMapIterable(event -> {
                                List<String> out = new ArrayList<>();
                                if (failure.passOver(event)) {
                                    return out;
                                }
                                if (event instanceof EngineEvent.Tokens t) {
                                    LegacyLogprobs l = lp[t.index()];
                                    if (!t.text().isEmpty() || l != null) {
                                        out.add(frame(p, t.index(), t.text(), l == null ? null : l.next(t.logprobs()), null,
                                                null));
                                    }
                                } else {
                                    EngineEvent.Finished f = (EngineEvent.Finished) event;
                                    String reason = FinishReasons.openAi(f, p.requestId());
                                    out.add(frame(p, f.index(), f.text() == null ? "" : f.text(), null, reason,
                                            f.stopReason()));
                                    usages[f.index()] = f.usage();
                                    if (f.last()) {
                                        done.set(true);
                                        if (p.includeUsage()) {
                                            out.add(ChatStreamAssembler.frame(new CompletionWire.Completion(p.request().requestId(),
                                                    p.created(), p.model(), List.of(),
                                                    ChatWire.Usage.of(EngineEvent.Usage.ofChoices(Arrays.asList(usages))))));
                                        }
                                        out.add(ChatStreamAssembler.DONE);
                                    }
                                }
                                return out;
                            }),
                            Flux.defer(() -> done.get() ? Flux.<String>empty()
                                    : Flux.error(ApiErrors.noResult(p.requestId()))))
                    .onErrorResume(e -> {
                        log.warn("request_id={} id={} failed mid-stream", p.requestId(), p.request().requestId(), e);
                        return Flux.just(ChatStreamAssembler.errorFrame(ApiErrors.from(e, settings, p.requestId())),
                                ChatStreamAssembler.DONE);
                    });
            return EngineExchange.writeSse(response, frames, settings.keepAliveInterval());
        }));
    }
}
