package dev.llamaserve.springai;

import dev.llamaserve.chat.AnswerFinish;
import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.chat.ChatInput;
import dev.llamaserve.chat.ToolCallParser;
import dev.llamaserve.chat.ToolCallStartTokens;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.engine.Submission;
import dev.llamaserve.springai.EngineChatOptions.ToolChoice;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.contextpropagation.ObservationThreadLocalAccessor;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.model.MessageAggregator;
import org.springframework.ai.chat.observation.ChatModelObservationContext;
import org.springframework.ai.chat.observation.ChatModelObservationConvention;
import org.springframework.ai.chat.observation.ChatModelObservationDocumentation;
import org.springframework.ai.chat.observation.DefaultChatModelObservationConvention;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.ai.tool.definition.ToolDefinition;
import reactor.adapter.JdkFlowAdapter;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.node.ArrayNode;

/**
 * Spring AI's {@link ChatModel} (and so {@code StreamingChatModel}) backed by the in-process engine, with
 * no HTTP in between: an application injects it (or a {@code ChatClient} built on it) and uses llama-serve
 * as a library.
 *
 * <p>The prompt's messages (system, user, assistant with its tool calls, tool responses) and tool definitions
 * (the {@code ToolCallback}s of {@link EngineChatOptions}, resolved by the {@link ToolCallingManager}) become the
 * OpenAI-shaped {@code messages} and {@code tools} arrays that {@link ChatFormat} validates, renders with the
 * Llama 3.1 template and encodes; the options become {@link SamplingParams}, with the engine's grammar constraint
 * for a forced {@link ToolChoice} or an output schema (see {@link PromptMapping}). The model's tool calls come
 * back as {@link AssistantMessage.ToolCall}s (finish reason {@code TOOL_CALLS}; {@code LENGTH} with the last call
 * partial where {@code maxTokens} cut it, as over HTTP: {@link AnswerFinish}), parsed by the HTTP API's parser;
 * Spring AI's {@code ToolCallingAdvisor} (which a {@code ChatClient} registers) runs them and calls again. Results
 * carry the engine's token counts as usage, the request's id, and its finish reason ({@code STOP}, {@code LENGTH});
 * a request the engine aborted (shutdown) or failed is an error, as over HTTP, never a cut-off answer.
 * Streaming yields one response per released text delta, then one with the tool calls if any, then one with the
 * finish reason and usage, on a bounded-elastic thread (never on the engine's shared delivery threads, so a
 * consumer may block); cancelling the stream aborts the request in the engine.
 *
 * <p>Each call and each stream is a Micrometer observation {@code gen_ai.client.operation}, as Spring AI's own
 * chat models make it ({@link ChatModelObservationDocumentation}): the request's options and the response's id,
 * finish reasons and token usage as {@code gen_ai.*} key values, provider {@value #PROVIDER}; a stream's observation
 * runs from its subscription to its end or cancellation, over the aggregated answer.
 */
public final class EngineChatModel implements ChatModel {

    /** The {@code gen_ai.system} of this model's observations. */
    public static final String PROVIDER = "llama-serve";

    /**
     * The key of a generation's metadata that holds its stop reason, where it has one: vLLM's {@code stop_reason}, the
     * stop sequence that ended the answer or the stop token id it ended on, never the tokenizer's end of sequence
     * ({@link EngineEvent.Finished#stopReason}).
     */
    public static final String STOP_REASON = "stopReason";

    private static final ChatModelObservationConvention DEFAULT_CONVENTION = new DefaultChatModelObservationConvention();

    private final InferenceEngine engine;
    private final Supplier<ChatFormat> chatFormat;
    private final String modelName;
    private final EngineChatOptions defaultOptions;
    private final ToolCallingManager toolCallingManager;
    private final ObservationRegistry observationRegistry;
    private ChatModelObservationConvention observationConvention;
    private volatile ToolCallStartTokens startTokens;

    public EngineChatModel(InferenceEngine engine, ChatFormat chatFormat, String modelName,
            EngineChatOptions defaultOptions, ToolCallingManager toolCallingManager) {
        this(engine, () -> chatFormat, modelName, defaultOptions, toolCallingManager, ObservationRegistry.NOOP);
    }

    /**
     * @param chatFormat asked at each request: the chat format exists once the model is loaded, so a model made
     *     before (an application injecting it while the model loads) waits for the load at its first request, not
     *     at its creation
     * @param defaultOptions the options a request starts from; their model, where unset, is {@code modelName}
     * @param observationRegistry where each call's and stream's observation goes ({@link ObservationRegistry#NOOP}:
     *     none)
     */
    public EngineChatModel(InferenceEngine engine, Supplier<ChatFormat> chatFormat,
            String modelName, EngineChatOptions defaultOptions, ToolCallingManager toolCallingManager,
            ObservationRegistry observationRegistry) {
        this.engine = engine;
        this.chatFormat = chatFormat;
        this.modelName = modelName;
        EngineChatOptions d = defaultOptions == null ? EngineChatOptions.builder().build() : defaultOptions;
        this.defaultOptions = d.getModel() == null ? d.mutate().model(modelName).build() : d;
        this.toolCallingManager = toolCallingManager;
        this.observationRegistry = observationRegistry == null ? ObservationRegistry.NOOP : observationRegistry;
    }

    /** The convention of this model's observations (else Spring AI's default), as Spring AI's chat models take it. */
    public void setObservationConvention(ChatModelObservationConvention observationConvention) {
        this.observationConvention = observationConvention;
    }

    /** The defaults a {@code ChatClient} starts each request's options from ({@code getOptions().mutate()}). */
    @Override
    public EngineChatOptions getOptions() {
        return defaultOptions;
    }

    @Override
    public ChatResponse call(Prompt prompt) {
        Prompt resolved = resolved(prompt);
        ChatModelObservationContext context = observationContext(resolved, false);
        return observation(context).observe(() -> {
            ChatResponse response = answer(resolved);
            context.setResponse(response);
            return response;
        });
    }

    private ChatResponse answer(Prompt prompt) {
        Request request = request(prompt);
        StringBuilder content = new StringBuilder();
        EngineEvent.Finished finished = request.events()
                .doOnNext(e -> {
                    if (e instanceof EngineEvent.Tokens t) {
                        content.append(request.answer().onTokens(t));
                    }
                })
                .ofType(EngineEvent.Finished.class)
                .blockLast();
        if (finished == null) {
            throw new IllegalStateException("the engine ended the request without a result");
        }
        AnswerAssembler.End end = request.answer().finish(finished);
        if (end.content() != null) {
            content.append(end.content());
        }
        // a call-only answer's text is "", as streamed and as Spring AI's OpenAI model gives it
        AssistantMessage message = AssistantMessage.builder().content(content.toString()).toolCalls(end.calls()).build();
        return response(request.id(), message, finished, end.finish().name());
    }

    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        return Flux.deferContextual(view -> {
            Prompt resolved = resolved(prompt);
            ChatModelObservationContext context = observationContext(resolved, true);
            Observation observation = observation(context);
            observation.parentObservation(view.getOrDefault(ObservationThreadLocalAccessor.KEY, null)).start();
            Flux<ChatResponse> responses;
            try {
                responses = streamAnswer(resolved);
            } catch (RuntimeException e) {   // refused before any event (validation): the observation ends with it
                observation.error(e);
                observation.stop();
                throw e;
            }
            return new MessageAggregator().aggregate(responses
                    .doOnError(observation::error)
                    .doFinally(signal -> observation.stop())
                    .contextWrite(c -> c.put(ObservationThreadLocalAccessor.KEY, observation)), context::setResponse);
        });
    }

    private Flux<ChatResponse> streamAnswer(Prompt prompt) {
        Request request = request(prompt);
        // The engine delivers on a few shared threads: the caller's subscriber (which may block, e.g. on a
        // slow SseEmitter) must run on its own thread, or one slow consumer stalls every other request.
        return request.events()
                .publishOn(Schedulers.boundedElastic())
                .concatMap(e -> {
                    if (e instanceof EngineEvent.Tokens t) {
                        String text = request.answer().onTokens(t);
                        return text.isEmpty() ? Flux.empty() : Flux.just(chunk(request.id(), text));
                    }
                    EngineEvent.Finished f = (EngineEvent.Finished) e;
                    AnswerAssembler.End end = request.answer().finish(f);
                    List<ChatResponse> out = new ArrayList<>(2);
                    if (end.calls().isEmpty()) {
                        String tail = end.content() == null ? "" : end.content();
                        out.add(response(request.id(), new AssistantMessage(tail), f, end.finish().name()));
                    } else {
                        if (end.content() != null) {
                            out.add(chunk(request.id(), end.content()));
                        }
                        out.add(response(request.id(),
                                AssistantMessage.builder().content("").toolCalls(end.calls()).build(), f,
                                end.finish().name()));
                    }
                    return Flux.fromIterable(out);
                });
    }

    /**
     * The prompt with the options it runs with ({@link #options}), merged once per request: the observation reports
     * them (the request's model, temperature, tools and so on) and {@link #request} takes them as they are.
     */
    private Prompt resolved(Prompt prompt) {
        return new Prompt(prompt.getInstructions(), options(prompt.getOptions()));
    }

    private ChatModelObservationContext observationContext(Prompt resolved, boolean streaming) {
        return ChatModelObservationContext.builder()
                .prompt(resolved)
                .provider(PROVIDER)
                .streaming(streaming)
                .build();
    }

    private Observation observation(ChatModelObservationContext context) {
        return ChatModelObservationDocumentation.CHAT_MODEL_OPERATION.observation(observationConvention,
                DEFAULT_CONVENTION, () -> context, observationRegistry);
    }

    /** One prepared request: its engine events and the assembler of its answer. */
    private record Request(String id, Flux<EngineEvent> events, AnswerAssembler answer) {}

    /**
     * The prompt as an engine request: messages and tools go through {@link ChatFormat#prepare} and the request
     * through the engine's validation (ranges, context length) like an HTTP request; an ERROR finish becomes an
     * error signal; cancelling (or any other end before the last event) aborts the request.
     */
    private Request request(Prompt prompt) {
        EngineChatOptions options = options(prompt.getOptions());
        ToolChoice choice = options.getToolChoice() == null ? ToolChoice.AUTO : options.getToolChoice();
        List<ToolDefinition> tools = choice.mode() == ToolChoice.Mode.NONE ? List.of()
                : toolCallingManager.resolveToolDefinitions(options);
        ArrayNode toolsJson = PromptMapping.tools(tools);
        int[] ids = chatFormat.get().prepare(new ChatInput(PromptMapping.messages(prompt.getInstructions()), toolsJson, true,
                null), engine.modelInfo().maxModelLen()).tokenIds();
        boolean afterToolResults = PromptMapping.endsWithToolResults(prompt.getInstructions());
        SamplingParams sampling = PromptMapping.sampling(options, options.getMaxTokens()).toBuilder()
                .constraint(PromptMapping.constraint(options, tools, afterToolResults))
                .build();
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        Submission submission = new Submission(engine, new GenerationRequest(id, ids, sampling,
                GenerationRequest.ParamNames.CHAT));
        Flux<EngineEvent> events = Flux.defer(() -> JdkFlowAdapter.flowPublisherToFlux(submission.submit()))
                .<EngineEvent>handle((e, sink) -> {
                    if (e instanceof EngineEvent.Finished f && f.reason() == EngineEvent.FinishReason.ERROR) {
                        sink.error(new IllegalStateException("the model failed while generating"));
                        return;
                    }
                    if (e instanceof EngineEvent.Finished f && f.reason() == EngineEvent.FinishReason.ABORT) {
                        // not this caller's doing (its cancel ends the stream before any Finished): shutdown
                        sink.error(new IllegalStateException("the engine aborted the request (shutting down?)"
                                + " before it finished"));
                        return;
                    }
                    sink.next(e);
                })
                .doFinally(signal -> submission.abandon());
        // several calls as the grammar allows them: the one rule (unset: parallel, as OpenAI; a named function: one)
        return new Request(id, events, new AnswerAssembler(toolsJson == null ? null : startTokens(),
                ToolCallParser.Calls.of(sampling.constraint(), PromptMapping.parallel(options, afterToolResults))));
    }

    /**
     * The request's options: a prompt's {@link EngineChatOptions} as they are (a {@code ChatClient} derived them
     * from {@link #getOptions()}); other options over the defaults, each unset one taken from the defaults.
     */
    private EngineChatOptions options(ChatOptions p) {
        if (p == null) {
            return defaultOptions;
        }
        if (p instanceof EngineChatOptions e) {
            return e;
        }
        return defaultOptions.mutate().combineWith(p.mutate()).build();
    }

    private ToolCallStartTokens startTokens() {
        ToolCallStartTokens current = ToolCallStartTokens.reuse(startTokens, engine.detokenizer());
        startTokens = current;
        return current;
    }

    private ChatResponse chunk(String id, String text) {
        return new ChatResponse(List.of(new Generation(new AssistantMessage(text))),
                ChatResponseMetadata.builder().id(id).model(modelName).build());
    }

    private ChatResponse response(String id, AssistantMessage message, EngineEvent.Finished f, String finishReason) {
        ChatGenerationMetadata.Builder generated = ChatGenerationMetadata.builder().finishReason(finishReason);
        if (f.stopReason() != null) {   // vLLM's stop_reason, as the HTTP API sends it: the stop string or token id
            generated.metadata(STOP_REASON, f.stopReason());
        }
        Generation generation = new Generation(message, generated.build());
        EngineEvent.Usage u = f.usage();
        ChatResponseMetadata metadata = ChatResponseMetadata.builder()
                .id(id)
                .model(modelName)
                // the prompt tokens served from the prefix cache are the cache reads; nothing is written as such
                .usage(u == null ? new DefaultUsage(0, 0) : new DefaultUsage(u.promptTokens(), u.completionTokens(),
                        u.totalTokens(), null, (long) u.cachedTokens(), null))
                .build();
        return new ChatResponse(List.of(generation), metadata);
    }
}
