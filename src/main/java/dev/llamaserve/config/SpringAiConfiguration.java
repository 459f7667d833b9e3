package dev.llamaserve.config;

import dev.llamaserve.api.openai.ServedModel;
import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.springai.EngineChatModel;
import dev.llamaserve.springai.EngineChatOptions;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import org.springframework.ai.chat.client.AdvisorParams;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.client.ChatClientBuilderCustomizer;
import org.springframework.ai.chat.client.ChatClientCustomizer;
import org.springframework.ai.chat.client.advisor.observation.AdvisorObservationConvention;
import org.springframework.ai.chat.client.observation.ChatClientObservationConvention;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.observation.ChatModelMeterObservationHandler;
import org.springframework.ai.chat.observation.ChatModelObservationConvention;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.ConfigurableBeanFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Lazy;
import org.springframework.context.annotation.Scope;

/**
 * llama-serve as a library for Spring AI: a {@link ChatModel} (also a StreamingChatModel) backed by the
 * in-process engine, and a {@link ChatClient.Builder} on it, so an application injects either. On the engine's
 * model the builder turns on native structured output ({@code entity(...)} sends the schema as an option that the
 * engine enforces, instead of format instructions in the prompt); tools go through the application's
 * {@link ToolCallingManager} bean if it has one, else Spring AI's default.
 *
 * <p>Observability as Spring AI's own auto-configuration gives its chat models and {@code ChatClient}: the model
 * and the builder's clients report to the context's {@link ObservationRegistry} (with its observation conventions,
 * where the application defines one), Spring AI's {@link ChatModelMeterObservationHandler} turns the model's
 * observations into {@code gen_ai.client.token.usage}, and every {@link ChatClientBuilderCustomizer} bean is applied
 * to each builder, in order (after those of the deprecated {@link ChatClientCustomizer}, in theirs). Prompt and completion text are never put into an observation.
 */
@Configuration(proxyBeanMethods = false)
public class SpringAiConfiguration {

    /**
     * The chat format exists once the model is loaded: the model asks for it at each request, so that an
     * application injecting this (or the builder below) into a singleton does not hold the context's start, and
     * with it the web server and the probes, for the whole load. Its first request waits for the load instead.
     */
    @Bean
    @Lazy
    @ConditionalOnMissingBean(ChatModel.class)
    EngineChatModel engineChatModel(InferenceEngine engine, ObjectProvider<ChatFormat> chatFormat, ServedModel served,
            ObjectProvider<ToolCallingManager> toolCallingManager, ObjectProvider<ObservationRegistry> observations,
            ObjectProvider<ChatModelObservationConvention> convention) {
        ObservationRegistry registry = observations.getIfUnique(() -> ObservationRegistry.NOOP);
        EngineChatModel model = new EngineChatModel(engine, chatFormat::getObject, served.name(),
                EngineChatOptions.builder().build(),
                toolCallingManager.getIfAvailable(() -> ToolCallingManager.builder().observationRegistry(registry).build()),
                registry);
        convention.ifAvailable(model::setObservationConvention);
        return model;
    }

    @Bean
    @Scope(ConfigurableBeanFactory.SCOPE_PROTOTYPE)
    @ConditionalOnMissingBean
    ChatClient.Builder chatClientBuilder(ChatModel chatModel, ObjectProvider<ObservationRegistry> observations,
            ObjectProvider<ChatClientObservationConvention> clientConvention,
            ObjectProvider<AdvisorObservationConvention> advisorConvention,
            ObjectProvider<ChatClientBuilderCustomizer> customizers,
            @SuppressWarnings("deprecation") ObjectProvider<ChatClientCustomizer> deprecatedCustomizers) {
        ChatClient.Builder builder = ChatClient.builder(chatModel, observations.getIfUnique(() -> ObservationRegistry.NOOP),
                clientConvention.getIfUnique(() -> null), advisorConvention.getIfUnique(() -> null));
        if (chatModel instanceof EngineChatModel) {
            builder.defaultAdvisors(AdvisorParams.ENABLE_NATIVE_STRUCTURED_OUTPUT);
        }
        deprecatedCustomizers.orderedStream().forEach(c -> c.customize(builder));
        customizers.orderedStream().forEach(c -> c.customize(builder));
        return builder;
    }

    /** {@code gen_ai.client.token.usage} from the chat model's observations, as Spring AI's auto-configuration. */
    @Bean
    @ConditionalOnMissingBean
    ChatModelMeterObservationHandler chatModelMeterObservationHandler(MeterRegistry meterRegistry) {
        return new ChatModelMeterObservationHandler(meterRegistry);
    }
}
