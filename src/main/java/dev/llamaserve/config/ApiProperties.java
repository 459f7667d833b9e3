package dev.llamaserve.config;

import dev.llamaserve.api.openai.ApiSettings;
import dev.llamaserve.api.openai.BodyBudget;
import dev.llamaserve.engine.device.MemorySize;
import dev.llamaserve.ops.ModelRoutes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
 * @param bodyTimeout the most time a request body may take to arrive (default 30s); slower is a 408
 * @param writeTimeout the most time a part of a response may wait for the client to take it (default 60s); then
 *     the connection is closed (a stream whose client stops reading held its admission slot for as long as the
 *     client kept the socket open)
 * @param maxBodyBytesInFlight bytes of request bodies read at once (default {@code auto}: an eighth of the maximum
 *     heap, at least {@code max-body-bytes}); a body beyond them is a 503 overloaded
 * @param ioThreads the HTTP server's event loops (default {@code auto}: one per four cores, at least one; see
 *     {@link HttpEventLoops})
 * @param keys API keys accepted as {@code Authorization: Bearer <key>}, comma-separated (ids {@code key-1},
 *        {@code key-2}, ... by position); with none here nor in the keys file, the API is open
 * @param keysFile file of API keys, one per line:
 *        {@code id:sha256-hex[:requests-per-minute[:tokens-per-minute[:max-concurrent-requests]]]}
 *        (the key's SHA-256, never the key itself; {@code #} comments)
 * @param protectedPaths paths that need a key when keys are configured (default the model's routes
 *        ({@link ModelRoutes}: {@code /v1/**}, {@code /tokenize}, {@code /detokenize}) and {@code /actuator/**}:
 *        an actuator endpoint an operator exposes, such as {@code env} or {@code loggers}, which can switch the
 *        access log off, is not open to every client)
 * @param corsAllowedOrigins origins (or patterns such as {@code https://*.example.com}) whose pages may call the API
 *        from a browser (CORS); none by default
 * @param openPaths paths that need no key even where a protected pattern matches them (default the actuator's
 *        health groups and {@code /actuator/prometheus}, which probes and scrapers call without one; the probes
 *        {@code /livez} and {@code /readyz} are not under a protected path)
 */
@ConfigurationProperties(prefix = "llm.api")
public record ApiProperties(
        @DefaultValue("false") boolean acceptAnyModel,
        @DefaultValue("4MiB") String maxBodyBytes,
        @DefaultValue("5s") Duration keepAliveInterval,
        @DefaultValue("1s") Duration retryAfter,
        @DefaultValue("30s") Duration bodyTimeout,
        @DefaultValue("60s") Duration writeTimeout,
        @DefaultValue("auto") String maxBodyBytesInFlight,
        @DefaultValue("auto") String ioThreads,
        List<String> keys,
        Path keysFile,
        @DefaultValue({ModelRoutes.API, ModelRoutes.TOKENIZE, ModelRoutes.DETOKENIZE, "/actuator/**"})
        List<String> protectedPaths,
        @DefaultValue({"/actuator/health", "/actuator/health/**", "/actuator/prometheus"}) List<String> openPaths,
        List<String> corsAllowedOrigins) {

    public ApiProperties {
        if (writeTimeout == null || writeTimeout.isNegative() || writeTimeout.isZero()) {
            throw new IllegalArgumentException("llm.api.write-timeout must be positive, got " + writeTimeout);
        }
        HttpEventLoops.threads(ioThreads, 1);   // a bad value stops the start here, naming the property
    }

    public ApiSettings toSettings() {
        long maxBody = MemorySize.parseBytes(maxBodyBytes, "llm.api.max-body-bytes");
        BodyBudget bodies = maxBodyBytesInFlight == null || maxBodyBytesInFlight.isBlank()
                || maxBodyBytesInFlight.strip().equalsIgnoreCase("auto") ? BodyBudget.forHeap(maxBody)
                : BodyBudget.of(MemorySize.parseBytes(maxBodyBytesInFlight, "llm.api.max-body-bytes-in-flight"),
                        maxBody);
        return new ApiSettings(acceptAnyModel, maxBody, keepAliveInterval, retryAfter, bodyTimeout, bodies);
    }
}
