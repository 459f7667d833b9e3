package dev.llamaserve.config;

import dev.llamaserve.api.openai.ApiSettings;
import dev.llamaserve.ops.auth.CorsFilter;
import java.util.List;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.reactor.netty.autoconfigure.ReactorNettyProperties;
import org.springframework.boot.http.codec.CodecCustomizer;
import org.springframework.boot.reactor.netty.NettyServerCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.client.ReactorResourceFactory;

/**
 * Wiring of the OpenAI API's own beans. The API also needs the {@code InferenceEngine}, {@code ChatFormat}
 * and {@code PromptDryRun} beans, provided by {@link EngineConfiguration}.
 */
@Configuration(proxyBeanMethods = false)
public class OpenAiApiConfiguration {

    @Bean
    ApiSettings apiSettings(ApiProperties properties) {
        return properties.toSettings();
    }

    /** Every codec reads up to {@code llm.api.max-body-bytes} in memory, like the chat endpoint. */
    @Bean
    CodecCustomizer apiBodyLimit(ApiSettings settings) {
        return configurer -> configurer.defaultCodecs().maxInMemorySize((int) settings.maxBodyBytes());
    }

    /** CORS for the origins of {@code llm.api.cors-allowed-origins}, before the API key check (none: off). */
    @Bean
    CorsFilter corsFilter(ApiProperties properties) {
        return new CorsFilter(properties.corsAllowedOrigins() == null ? List.of() : properties.corsAllowedOrigins());
    }

    /** A connection whose client stops taking its response is closed (see {@link ResponseWriteTimeout}). */
    @Bean
    NettyServerCustomizer responseWriteTimeout(ApiProperties properties) {
        return ResponseWriteTimeout.customizer(properties.writeTimeout());
    }

    /**
     * The HTTP server's event loops, {@code llm.api.io-threads} of them (see {@link HttpEventLoops}): this bean
     * stands in for Spring Boot's own {@code ReactorResourceFactory}, whose loops the web server runs on.
     */
    @Bean
    ReactorResourceFactory reactorResourceFactory(ApiProperties properties,
            ObjectProvider<ReactorNettyProperties> netty) {
        ReactorNettyProperties p = netty.getIfAvailable();
        return HttpEventLoops.resourceFactory(HttpEventLoops.threads(properties.ioThreads(),
                Runtime.getRuntime().availableProcessors()), p == null ? null : p.getShutdownQuietPeriod());
    }

    /** Keep-alive connections keep reading after a queued request (see {@link KeepAliveReadRearm}). */
    @Bean
    NettyServerCustomizer keepAliveReadRearm() {
        return KeepAliveReadRearm.customizer();
    }
}
