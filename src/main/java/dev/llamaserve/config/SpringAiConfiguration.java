package dev.llamaserve.config;

import dev.llamaserve.api.openai.ServedModel;
import dev.llamaserve.chat.ChatFormat;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.springai.EngineChatModel;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.beans.factory.config.ConfigurableBeanFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Lazy;
import org.springframework.context.annotation.Scope;

/**
 * llama-serve as a library for Spring AI: a {@link ChatModel} (also a StreamingChatModel) backed by the
 * in-process engine, and a {@link ChatClient.Builder} on it, so an application injects either.
 */
@Configuration(proxyBeanMethods = false)
public class SpringAiConfiguration {

    /** Lazy: the chat format exists once the model is loaded (creating this bean waits for the load). */
    @Bean
    @Lazy
    @ConditionalOnMissingBean(ChatModel.class)
    EngineChatModel engineChatModel(InferenceEngine engine, ChatFormat chatFormat, ServedModel served) {
        return new EngineChatModel(engine, chatFormat, served.name(), ChatOptions.builder().build());
    }

    @Bean
    @Scope(ConfigurableBeanFactory.SCOPE_PROTOTYPE)
    @ConditionalOnMissingBean
    ChatClient.Builder chatClientBuilder(ChatModel chatModel) {
        return ChatClient.builder(chatModel);
    }
}
