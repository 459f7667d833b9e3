package dev.llamaserve.ops;

import java.util.List;
import org.springframework.http.server.PathContainer;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.util.pattern.PathPattern;
import org.springframework.web.util.pattern.PathPatternParser;

/**
 * The routes that need the model: the OpenAI API ({@code /v1/**}) and the tokenizer's {@code /tokenize} and
 * {@code /detokenize}. The lifecycle gate refuses them until the model is ready, the rate limits count them, and
 * {@code llm.api.protected-paths} protects them by default. They are matched as {@link PathPattern}s against
 * the path within the application, on decoded segments without matrix parameters, as WebFlux routes requests:
 * {@code /tokenize;x=1} and {@code /%761/models} are these routes too.
 */
public final class ModelRoutes {

    public static final String API = "/v1/**";
    public static final String TOKENIZE = "/tokenize";
    public static final String DETOKENIZE = "/detokenize";

    /** The patterns, as {@link PathPatternParser} reads them. */
    public static final List<String> PATTERNS = List.of(API, TOKENIZE, DETOKENIZE);

    private static final List<PathPattern> PARSED = PATTERNS.stream()
            .map(PathPatternParser.defaultInstance::parse).toList();

    private ModelRoutes() {}

    /** Whether the exchange's request (its path within the application) is for one of the model's routes. */
    public static boolean matches(ServerWebExchange exchange) {
        PathContainer path = exchange.getRequest().getPath().pathWithinApplication();
        return PARSED.stream().anyMatch(p -> p.matches(path));
    }
}
