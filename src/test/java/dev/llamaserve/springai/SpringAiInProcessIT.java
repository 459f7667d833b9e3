package dev.llamaserve.springai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.api.openai.RealEngineWebTest;
import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.chat.ChatInput;
import dev.llamaserve.chat.ChatJson;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.SamplingParams;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.beans.factory.annotation.Autowired;
import reactor.adapter.JdkFlowAdapter;

/**
 * Spring AI in-process: the {@link ChatModel} bean and a {@link ChatClient} on it, backed by the REAL
 * engine with no HTTP in between (the shared real-engine context of {@link RealEngineWebTest}).
 */
class SpringAiInProcessIT extends RealEngineWebTest {

    @Autowired
    ChatModel chatModel;

    @Autowired
    ChatClient.Builder chatClientBuilder;

    @Autowired
    ChatFormat chatFormat;

    @Autowired
    MeterRegistry meters;

    private static ChatOptions.Builder<?> greedyBuilder(int maxTokens) {
        return ChatOptions.builder().temperature(0.0).maxTokens(maxTokens);
    }

    private static ChatOptions greedyOptions(int maxTokens) {
        return greedyBuilder(maxTokens).build();
    }

    /** What the engine itself produces for "Hi", greedy, maxTokens: text and the Finished event. */
    private record Direct(String text, EngineEvent.Finished finished) {}

    private Direct direct(int maxTokens) {
        int[] ids = chatFormat.prepare(ChatInput.of(ChatJson.parse("[{\"role\":\"user\",\"content\":\"Hi\"}]"))).tokenIds();
        StringBuilder text = new StringBuilder();
        EngineEvent.Finished f = JdkFlowAdapter.flowPublisherToFlux(engine.submit(new GenerationRequest(
                        "direct-" + System.nanoTime(), ids, SamplingParams.builder().temperature(0.0).maxTokens(maxTokens).build())))
                .doOnNext(e -> {
                    if (e instanceof EngineEvent.Tokens t) {
                        text.append(t.text());
                    }
                })
                .ofType(EngineEvent.Finished.class)
                .blockLast();
        return new Direct(text.append(f.text()).toString(), f);
    }

    @Test
    void chatClientCallIsTheEnginesOutputWithItsUsage() {
        assertThat(chatModel).isInstanceOf(EngineChatModel.class);
        Direct direct = direct(8);
        long hitsBefore = engine.stats().prefixCacheHitTokens();
        ChatResponse response = ChatClient.create(chatModel).prompt().user("Hi").options(greedyBuilder(8))
                .call().chatResponse();
        long hits = engine.stats().prefixCacheHitTokens() - hitsBefore;
        assertThat(response).isNotNull();
        String text = response.getResult().getOutput().getText();
        assertThat(text).isNotEmpty().isEqualTo(direct.text());
        assertThat(response.getMetadata().getUsage().getPromptTokens()).isEqualTo(direct.finished().usage().promptTokens());
        assertThat(response.getMetadata().getUsage().getCompletionTokens())
                .isEqualTo(direct.finished().usage().completionTokens());
        assertThat(response.getMetadata().getUsage().getTotalTokens()).isEqualTo(direct.finished().usage().totalTokens());
        // the same prompt again: its full blocks come from the prefix cache, the usage's cache reads
        assertThat(hits).isPositive();
        assertThat(response.getMetadata().getUsage().getCacheReadInputTokens()).isEqualTo(hits);
        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualTo(direct.finished().reason().name());
        assertThat(response.getMetadata().getModel()).isEqualTo(MODEL);
        // .content() through the injected builder
        assertThat(chatClientBuilder.build().prompt().user("Hi").options(greedyBuilder(8)).call().content())
                .isEqualTo(text);
    }

    /**
     * The stop sequence that ended an answer is in its generation's metadata ({@link EngineChatModel#STOP_REASON}),
     * called and streamed; an answer its length ended has none.
     */
    @Test
    void theStopSequenceThatEndedAnAnswerIsInItsMetadata() {
        String text = direct(8).text();
        assertThat(text).isNotEmpty();
        String stop = text.substring(0, text.offsetByCodePoints(0, 1));
        ChatResponse stopped = ChatClient.create(chatModel).prompt().user("Hi")
                .options(greedyBuilder(8).stopSequences(List.of(stop))).call().chatResponse();
        assertThat(stopped.getResult().getMetadata().getFinishReason()).isEqualTo("STOP");
        assertThat((Object) stopped.getResult().getMetadata().get(EngineChatModel.STOP_REASON)).isEqualTo(stop);
        ChatResponse last = ChatClient.create(chatModel).prompt().user("Hi")
                .options(greedyBuilder(8).stopSequences(List.of(stop))).stream().chatResponse().blockLast();
        assertThat((Object) last.getResult().getMetadata().get(EngineChatModel.STOP_REASON)).isEqualTo(stop);
        ChatResponse cut = ChatClient.create(chatModel).prompt().user("Hi").options(greedyBuilder(8)).call()
                .chatResponse();
        assertThat(cut.getResult().getMetadata().getFinishReason()).isEqualTo("LENGTH");
        assertThat(cut.getResult().getMetadata().containsKey(EngineChatModel.STOP_REASON)).isFalse();
    }

    private long operations() {
        Timer t = meters.find("gen_ai.client.operation").tag("gen_ai.system", EngineChatModel.PROVIDER)
                .tag("gen_ai.operation.name", "chat").tag("gen_ai.request.model", MODEL)
                .tag("gen_ai.response.model", MODEL).timer();
        return t == null ? 0 : t.count();
    }

    private double tokens(String type) {
        Counter c = meters.find("gen_ai.client.token.usage").tag("gen_ai.system", EngineChatModel.PROVIDER)
                .tag("gen_ai.token.type", type).counter();
        return c == null ? 0 : c.count();
    }

    /**
     * Calls and streams are observed as Spring AI's own chat models are: a {@code gen_ai.client.operation} timer
     * per request (the request's model and the response's), and {@code gen_ai.client.token.usage} counting the
     * engine's own token counts; a stream's observation ends with it.
     */
    @Test
    void callsAndStreamsAreObservedWithTheEnginesTokenCounts() throws InterruptedException {
        Direct direct = direct(6);
        long before = operations();
        double input = tokens("input");
        double output = tokens("output");
        double total = tokens("total");
        ChatResponse called = chatClientBuilder.build().prompt().user("Hi").options(greedyBuilder(6)).call()
                .chatResponse();
        assertThat(called.getMetadata().getUsage().getPromptTokens()).isEqualTo(direct.finished().usage().promptTokens());
        assertThat(operations()).isEqualTo(before + 1);
        assertThat(tokens("input") - input).isEqualTo(direct.finished().usage().promptTokens());
        assertThat(tokens("output") - output).isEqualTo(direct.finished().usage().completionTokens());
        assertThat(tokens("total") - total).isEqualTo(direct.finished().usage().totalTokens());
        List<ChatResponse> streamed = chatModel.stream(new org.springframework.ai.chat.prompt.Prompt("Hi",
                greedyOptions(6))).collectList().block(Duration.ofSeconds(60));
        assertThat(streamed).isNotEmpty();
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (operations() < before + 2 && System.nanoTime() < deadline) {
            Thread.sleep(2);   // the stream's observation stops just after its completion reached the caller
        }
        assertThat(operations()).isEqualTo(before + 2);
        assertThat(tokens("output") - output).isEqualTo(2.0 * direct.finished().usage().completionTokens());
        assertThat(meters.find("spring.ai.chat.client").timer())
                .as("the injected builder's clients report to the context's registry").isNotNull();
    }

    @Test
    void streamConcatenationEqualsTheCallUnderGreedyDecoding() {
        String called = ChatClient.create(chatModel).prompt().user("Hi").options(greedyBuilder(12)).call().content();
        List<String> parts = ChatClient.create(chatModel).prompt().user("Hi").options(greedyBuilder(12))
                .stream().content().collectList().block(Duration.ofSeconds(60));
        assertThat(parts).isNotNull().hasSizeGreaterThan(1);
        assertThat(String.join("", parts)).isNotEmpty().isEqualTo(called);
        // the last streamed response carries the finish reason and the engine's usage, cache reads included
        long hitsBefore = engine.stats().prefixCacheHitTokens();
        List<ChatResponse> responses = chatModel.stream(new org.springframework.ai.chat.prompt.Prompt("Hi", greedyOptions(12)))
                .collectList().block(Duration.ofSeconds(60));
        ChatResponse last = responses.get(responses.size() - 1);
        long hits = engine.stats().prefixCacheHitTokens() - hitsBefore;
        assertThat(hits).isPositive();
        assertThat(last.getMetadata().getUsage().getCacheReadInputTokens()).isEqualTo(hits);
        Direct direct = direct(12);
        assertThat(last.getMetadata().getUsage().getCompletionTokens()).isEqualTo(direct.finished().usage().completionTokens());
        assertThat(last.getResult().getMetadata().getFinishReason()).isEqualTo(direct.finished().reason().name());
    }

    @Test
    void cancellingTheStreamAbortsTheRequest() throws Exception {
        EngineStats baseline = engine.stats();
        List<String> firstThree = chatModel.stream(new org.springframework.ai.chat.prompt.Prompt("Hi",
                        ChatOptions.builder().temperature(0.0).maxTokens(3000).build()))
                .map(r -> r.getResult().getOutput().getText())
                .take(3)
                .collectList().block(Duration.ofSeconds(60));
        assertThat(firstThree).hasSize(3);
        long deadline = System.nanoTime() + Duration.ofSeconds(1).toNanos();
        EngineStats s = engine.stats();
        while ((s.running() != 0 || s.kvBlocksUsed() != baseline.kvBlocksUsed()) && System.nanoTime() < deadline) {
            Thread.sleep(2);
            s = engine.stats();
        }
        assertThat(s.running()).isZero();
        assertThat(s.kvBlocksUsed()).isEqualTo(baseline.kvBlocksUsed());
    }

    @Test
    void everyMessageTypeAndOptionMaps() {
        var messages = PromptMapping.messages(List.of(new SystemMessage("Be brief."), new UserMessage("Weather?"),
                AssistantMessage.builder().content(null).toolCalls(List.of(new AssistantMessage.ToolCall("call_1",
                        "function", "get_weather", "{\"city\":\"Paris\"}"))).build(),
                ToolResponseMessage.builder().responses(List.of(new ToolResponseMessage.ToolResponse("call_1",
                        "get_weather", "sunny"))).build()));
        assertThat(messages.toString()).isEqualTo("[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":\"Weather?\"},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                + "[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
                + "\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"sunny\"}]");
        // the chat layer accepts the mapped conversation
        assertThat(chatFormat.prepare(ChatInput.of(messages)).text()).contains("Be brief.").contains("sunny");

        SamplingParams p = PromptMapping.sampling(ChatOptions.builder().temperature(0.3).topP(0.8).topK(20)
                .presencePenalty(0.5).frequencyPenalty(0.25).stopSequences(List.of("END")).build(), 17);
        assertThat(p.temperature()).isEqualTo(0.3);
        assertThat(p.topP()).isEqualTo(0.8);
        assertThat(p.topK()).isEqualTo(20);
        assertThat(p.presencePenalty()).isEqualTo(0.5);
        assertThat(p.frequencyPenalty()).isEqualTo(0.25);
        assertThat(p.stop()).containsExactly("END");
        assertThat(p.maxTokens()).isEqualTo(17);
    }

    /**
     * A stream consumer that blocks (a Spring MVC app writing each chunk to a slow SseEmitter, say) must
     * block its own thread, not the engine's shared delivery threads: with as many blocked consumers as
     * the engine has delivery threads, another request still completes.
     */
    @Test
    void aBlockedStreamConsumerDoesNotStallOtherRequests() throws Exception {
        int deliveryThreads = Math.max(2, Runtime.getRuntime().availableProcessors());
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch allBlocked = new CountDownLatch(deliveryThreads);
        List<String> consumerThreads = new CopyOnWriteArrayList<>();
        List<reactor.core.Disposable> streams = new ArrayList<>();
        CountDownLatch streamsDone = new CountDownLatch(deliveryThreads);
        try {
            for (int i = 0; i < deliveryThreads; i++) {
                AtomicBoolean first = new AtomicBoolean(true);
                streams.add(chatModel.stream(new org.springframework.ai.chat.prompt.Prompt("Hi", greedyOptions(4)))
                        .doFinally(sig -> streamsDone.countDown())
                        .subscribe(r -> {
                            if (first.getAndSet(false)) {
                                consumerThreads.add(Thread.currentThread().getName());
                                allBlocked.countDown();
                                try {
                                    release.await(60, TimeUnit.SECONDS);
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                            }
                        }, e -> { }));
            }
            assertThat(allBlocked.await(30, TimeUnit.SECONDS)).as("every stream reached its consumer").isTrue();
            CompletableFuture<String> other = CompletableFuture.supplyAsync(() -> ChatClient.create(chatModel).prompt()
                    .user("Hi").options(greedyBuilder(4)).call().content());
            assertThat(other.get(30, TimeUnit.SECONDS)).isNotNull();
            assertThat(consumerThreads).noneMatch(name -> name.startsWith("llm-engine-delivery"));
        } finally {
            release.countDown();
        }
        assertThat(streamsDone.await(30, TimeUnit.SECONDS)).isTrue();
        streams.forEach(reactor.core.Disposable::dispose);
    }
}
