package dev.llamaserve.springai;

import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.chat.ChatInput;
import dev.llamaserve.chat.ChatJson;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.engine.Submission;
import java.util.List;
import java.util.UUID;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import reactor.adapter.JdkFlowAdapter;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Spring AI's {@link ChatModel} (and so {@code StreamingChatModel}) backed by the in-process engine, with
 * no HTTP in between: an application injects it (or a {@code ChatClient} built on it) and uses llama-serve
 * as a library.
 *
 * <p>The prompt's messages (system, user, assistant with its tool calls, tool responses) become the
 * OpenAI-shaped messages array that {@link ChatFormat} validates, renders with the Llama 3.1 template and
 * encodes; the options (temperature, top_p, top_k, max tokens, stop sequences, presence and frequency
 * penalties) become {@link SamplingParams}. Results carry the engine's token counts as usage and its finish
 * reason ({@code STOP}, {@code LENGTH}, {@code ABORT}). Streaming yields one response per text delta, then
 * one with the finish reason and usage, on a bounded-elastic thread (never on the engine's shared delivery
 * threads, so a consumer may block); cancelling the stream aborts the request in the engine. Tool
 * definitions are not passed (the model's tool calls come back as text).
 */
public final class EngineChatModel implements ChatModel {

    private final InferenceEngine engine;
    private final ChatFormat chatFormat;
    private final String modelName;
    private final ChatOptions defaultOptions;

    public EngineChatModel(InferenceEngine engine, ChatFormat chatFormat, String modelName, ChatOptions defaultOptions) {
        this.engine = engine;
        this.chatFormat = chatFormat;
        this.modelName = modelName;
        this.defaultOptions = defaultOptions == null ? ChatOptions.builder().build() : defaultOptions;
    }

    @Override
    public ChatOptions getDefaultOptions() {
        return defaultOptions;
    }

    @Override
    public ChatResponse call(Prompt prompt) {
        StringBuilder text = new StringBuilder();
        EngineEvent.Finished finished = events(prompt)
                .doOnNext(e -> {
                    if (e instanceof EngineEvent.Tokens t) {
                        text.append(t.text());
                    }
                })
                .ofType(EngineEvent.Finished.class)
                .blockLast();
        if (finished == null) {
            throw new IllegalStateException("the engine ended the request without a result");
        }
        text.append(finished.text());
        return response(text.toString(), finished);
    }

    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        // The engine delivers on a few shared threads: the caller's subscriber (which may block, e.g. on a
        // slow SseEmitter) must run on its own thread, or one slow consumer stalls every other request.
        return Flux.defer(() -> events(prompt))
                .publishOn(Schedulers.boundedElastic())
                .concatMap(e -> {
                    if (e instanceof EngineEvent.Tokens t) {
                        return t.text().isEmpty() ? Flux.empty()
                                : Flux.just(new ChatResponse(List.of(new Generation(new AssistantMessage(t.text())))));
                    }
                    return Flux.just(response(((EngineEvent.Finished) e).text(), (EngineEvent.Finished) e));
                });
    }

    /**
     * The engine's events for the prompt: the prompt goes through {@link ChatFormat#prepare} and the request
     * through the engine's validation (ranges, context length) like an HTTP request; an ERROR finish becomes an
     * error signal; cancelling (or any other end before the last event) aborts the request.
     */
    private Flux<EngineEvent> events(Prompt prompt) {
        ChatOptions options = merged(prompt.getOptions());
        int[] ids = chatFormat.prepare(ChatInput.of(messages(prompt.getInstructions()))).tokenIds();
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        Submission submission = new Submission(engine, new GenerationRequest(id, ids,
                sampling(options, options.getMaxTokens()), GenerationRequest.ParamNames.CHAT));
        return JdkFlowAdapter.flowPublisherToFlux(submission.submit())
                .<EngineEvent>handle((e, sink) -> {
                    if (e instanceof EngineEvent.Finished f && f.reason() == EngineEvent.FinishReason.ERROR) {
                        sink.error(new IllegalStateException("the model failed while generating"));
                        return;
                    }
                    sink.next(e);
                })
                .doFinally(signal -> submission.abandon());
    }

    private ChatResponse response(String text, EngineEvent.Finished f) {
        Generation generation = new Generation(new AssistantMessage(text),
                ChatGenerationMetadata.builder().finishReason(f.reason().name()).build());
        EngineEvent.Usage u = f.usage();
        ChatResponseMetadata metadata = ChatResponseMetadata.builder()
                .model(modelName)
                .usage(u == null ? new DefaultUsage(0, 0) : new DefaultUsage(u.promptTokens(), u.completionTokens(),
                        u.totalTokens()))
                .build();
        return new ChatResponse(List.of(generation), metadata);
    }

    /** The prompt's options, each unset one taken from the defaults. */
    private ChatOptions merged(ChatOptions p) {
        if (p == null) {
            return defaultOptions;
        }
        ChatOptions d = defaultOptions;
        return ChatOptions.builder()
                .model(p.getModel() != null ? p.getModel() : d.getModel())
                .temperature(p.getTemperature() != null ? p.getTemperature() : d.getTemperature())
                .topP(p.getTopP() != null ? p.getTopP() : d.getTopP())
                .topK(p.getTopK() != null ? p.getTopK() : d.getTopK())
                .maxTokens(p.getMaxTokens() != null ? p.getMaxTokens() : d.getMaxTokens())
                .presencePenalty(p.getPresencePenalty() != null ? p.getPresencePenalty() : d.getPresencePenalty())
                .frequencyPenalty(p.getFrequencyPenalty() != null ? p.getFrequencyPenalty() : d.getFrequencyPenalty())
                .stopSequences(p.getStopSequences() != null ? p.getStopSequences() : d.getStopSequences())
                .build();
    }

    /** Spring AI options to engine sampling parameters (unset ones keep the model's defaults). */
    static SamplingParams sampling(ChatOptions o, Integer maxTokens) {
        SamplingParams.Builder b = SamplingParams.builder()
                .temperature(o.getTemperature())
                .topP(o.getTopP())
                .topK(o.getTopK())
                .maxTokens(maxTokens);
        if (o.getPresencePenalty() != null) {
            b.presencePenalty(o.getPresencePenalty());
        }
        if (o.getFrequencyPenalty() != null) {
            b.frequencyPenalty(o.getFrequencyPenalty());
        }
        if (o.getStopSequences() != null && !o.getStopSequences().isEmpty()) {
            b.stop(List.copyOf(o.getStopSequences()));
        }
        return b.build();
    }

    /** The OpenAI-shaped messages array of a Spring AI prompt. */
    static ArrayNode messages(List<Message> instructions) {
        ArrayNode out = ChatJson.MAPPER.createArrayNode();
        for (Message m : instructions) {
            switch (m.getMessageType()) {
                case SYSTEM -> out.addObject().put("role", "system").put("content", m.getText());
                case USER -> out.addObject().put("role", "user").put("content", m.getText());
                case ASSISTANT -> {
                    ObjectNode a = out.addObject().put("role", "assistant");
                    AssistantMessage am = (AssistantMessage) m;
                    if (am.getText() != null) {
                        a.put("content", am.getText());
                    } else {
                        a.putNull("content");
                    }
                    if (am.hasToolCalls()) {
                        ArrayNode calls = a.putArray("tool_calls");
                        for (AssistantMessage.ToolCall c : am.getToolCalls()) {
                            ObjectNode call = calls.addObject().put("id", c.id()).put("type", "function");
                            call.putObject("function").put("name", c.name()).put("arguments", c.arguments());
                        }
                    }
                }
                case TOOL -> {
                    for (ToolResponseMessage.ToolResponse r : ((ToolResponseMessage) m).getResponses()) {
                        out.addObject().put("role", "tool").put("tool_call_id", r.id()).put("content", r.responseData());
                    }
                }
            }
        }
        return out;
    }
}
