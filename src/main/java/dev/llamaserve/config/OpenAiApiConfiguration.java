package dev.llamaserve.config;

import dev.llamaserve.api.openai.ApiSettings;
import dev.llamaserve.api.openai.ServedModel;
import java.util.List;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.http.codec.CodecCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Wiring of the OpenAI API's own beans. The API also needs an {@code InferenceEngine} and a
 * {@code ChatPromptEncoder} bean, provided elsewhere.
 */
@Configuration(proxyBeanMethods = false)
public class OpenAiApiConfiguration {

    @Bean
    ApiSettings apiSettings(ApiProperties properties) {
        return properties.toSettings();
    }

    /** {@code llm.model.served-name} and {@code llm.model.aliases} (comma-separated). */
    @Bean
    @ConditionalOnMissingBean
    ServedModel servedModel(@Value("${llm.model.served-name:meta-llama/Llama-3.1-8B-Instruct}") String name,
            @Value("${llm.model.aliases:}") List<String> aliases) {
        return new ServedModel(name, aliases);
    }

    /** Every codec reads up to {@code llm.api.max-body-bytes} in memory, like the chat endpoint. */
    @Bean
    CodecCustomizer apiBodyLimit(ApiSettings settings) {
        return configurer -> configurer.defaultCodecs().maxInMemorySize((int) settings.maxBodyBytes());
    }
}
