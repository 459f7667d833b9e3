package dev.llamaserve.config;

import dev.llamaserve.api.openai.ApiSettings;
import dev.llamaserve.engine.device.MemorySize;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code llm.api.*}: settings of the OpenAI API.
 *
 * @param acceptAnyModel serve requests naming any model (default false: 404 model_not_found)
 * @param maxBodyBytes largest request body (default 4MiB; WebFlux's 256KB would refuse long prompts), a size as
 *     every size setting reads it ({@link MemorySize}: {@code MB} = 1000², {@code MiB} = 1024²)
 * @param keepAliveInterval SSE comment line after this long without a chunk (default 5s)
 * @param retryAfter Retry-After sent with 429 and 503 (default 1s)
 */
@ConfigurationProperties(prefix = "llm.api")
public record ApiProperties(
        @DefaultValue("false") boolean acceptAnyModel,
        @DefaultValue("4MiB") String maxBodyBytes,
        @DefaultValue("5s") Duration keepAliveInterval,
        @DefaultValue("1s") Duration retryAfter) {

    public ApiSettings toSettings() {
        return new ApiSettings(acceptAnyModel, MemorySize.parseBytes(maxBodyBytes, "llm.api.max-body-bytes"), keepAliveInterval, retryAfter);
    }
}
