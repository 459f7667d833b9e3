package dev.llamaserve.config;

import dev.llamaserve.api.openai.ServedModel;
import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.springai.EngineChatModel;
import dev.llamaserve.springai.EngineChatOptions;
import org.springframework.ai.chat.client.AdvisorParams;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatModel;
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
            ObjectProvider<ToolCallingManager> toolCallingManager) {
        return new EngineChatModel(engine, chatFormat::getObject, served.name(), EngineChatOptions.builder().build(),
                toolCallingManager.getIfAvailable(() -> ToolCallingManager.builder().build()));
    }

    @Bean
    @Scope(ConfigurableBeanFactory.SCOPE_PROTOTYPE)
    @ConditionalOnMissingBean
    ChatClient.Builder chatClientBuilder(ChatModel chatModel) {
        ChatClient.Builder builder = ChatClient.builder(chatModel);
        return chatModel instanceof EngineChatModel
                ? builder.defaultAdvisors(AdvisorParams.ENABLE_NATIVE_STRUCTURED_OUTPUT) : builder;
    }
}
