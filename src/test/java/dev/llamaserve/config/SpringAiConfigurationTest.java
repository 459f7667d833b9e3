package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.client.ChatClientBuilderCustomizer;
import org.springframework.ai.chat.client.ChatClientCustomizer;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.observation.ChatModelMeterObservationHandler;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.Ordered;

/**
 * The {@link ChatClient.Builder} that {@link SpringAiConfiguration} gives an application is made as Spring AI's own
 * auto-configuration makes it: every {@link ChatClientBuilderCustomizer} bean applied in order (after the deprecated
 * {@link ChatClientCustomizer}s), and the context's
 * {@link ObservationRegistry} used by the clients it builds. The chat model here is a recording stand-in: what is
 * tested is the builder's wiring, not a model (the engine-backed model's observations: SpringAiInProcessIT).
 */
class SpringAiConfigurationTest {

    /** A customizer with an order, as a bean an application declares. */
    private record Ordering(int order, String system, List<String> applied) implements ChatClientBuilderCustomizer,
            Ordered {
        @Override
        public void customize(ChatClient.Builder builder) {
            applied.add(system);
            builder.defaultSystem(system);
        }

        @Override
        public int getOrder() {
            return order;
        }
    }

    @Test
    void theBuilderAppliesEveryCustomizerInOrderAndObservesThroughTheContextsRegistry() {
        List<Prompt> prompts = new CopyOnWriteArrayList<>();
        ChatModel recording = prompt -> {
            prompts.add(prompt);
            return new ChatResponse(List.of(new Generation(new AssistantMessage("ok"))));
        };
        List<String> observed = new CopyOnWriteArrayList<>();
        List<String> applied = new CopyOnWriteArrayList<>();
        ObservationRegistry registry = ObservationRegistry.create();
        registry.observationConfig().observationHandler(new ObservationHandler<>() {
            @Override
            public boolean supportsContext(Observation.Context context) {
                return true;
            }

            @Override
            public void onStop(Observation.Context context) {
                observed.add(context.getName());
            }
        });
        new ApplicationContextRunner()
                .withBean(ChatModel.class, () -> recording)
                .withBean(ObservationRegistry.class, () -> registry)
                .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
                // registered out of order: the later one in order (2) must win, being applied last
                .withBean("late", ChatClientBuilderCustomizer.class, () -> new Ordering(2, "applied last", applied))
                .withBean("early", ChatClientBuilderCustomizer.class, () -> new Ordering(1, "applied first", applied))
                .withBean("deprecated", ChatClientCustomizer.class, () -> b -> applied.add("deprecated"))
                .withUserConfiguration(SpringAiConfiguration.class)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasSingleBean(ChatModelMeterObservationHandler.class);
                    String answer = context.getBean(ChatClient.Builder.class).build().prompt().user("Hi").call()
                            .content();
                    assertThat(answer).isEqualTo("ok");
                    assertThat(applied).containsExactly("deprecated", "applied first", "applied last");
                    assertThat(prompts).hasSize(1);
                    assertThat(prompts.get(0).getSystemMessage().getText()).isEqualTo("applied last");
                    assertThat(observed).contains("spring.ai.chat.client");
                });
    }
}
