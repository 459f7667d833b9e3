package dev.llamaserve.ops.auth;

import dev.llamaserve.api.openai.ApiException;
import java.util.List;
import java.util.Optional;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.server.PathContainer;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import org.springframework.web.util.pattern.PathPattern;
import org.springframework.web.util.pattern.PathPatternParser;
import reactor.core.publisher.Mono;

/**
 * Requires {@code Authorization: Bearer <key>} on the protected paths ({@code llm.api.protected-paths}) but the
 * open ones ({@code llm.api.open-paths}); a
 * missing or unknown key is a 401 {@code invalid_api_key}. The matched key is kept as an exchange attribute
 * ({@link #KEY_ATTRIBUTE}) and its id as {@link #KEY_ID_ATTRIBUTE}, for rate limits and logs. The key
 * itself is never logged nor kept.
 */
public final class ApiKeyFilter implements WebFilter, Ordered {

    /** After the request id / access log filter, before the lifecycle gate and the rate limits. */
    public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 20;
    /** Exchange attribute: the caller's {@link ApiKey}. */
    public static final String KEY_ATTRIBUTE = ApiKeyFilter.class.getName() + ".key";
    /** Exchange attribute: the caller's key id (a String), for logs and metrics. */
    public static final String KEY_ID_ATTRIBUTE = dev.llamaserve.ops.RequestAttributes.KEY_ID;

    private static final String BEARER = "Bearer ";

    private final ApiKeys keys;
    private final List<PathPattern> protectedPaths;
    private final List<PathPattern> openPaths;

    public ApiKeyFilter(ApiKeys keys, List<String> protectedPaths, List<String> openPaths) {
        this.keys = keys;
        this.protectedPaths = protectedPaths.stream().map(PathPatternParser.defaultInstance::parse).toList();
        this.openPaths = openPaths.stream().map(PathPatternParser.defaultInstance::parse).toList();
    }

    @Override
    public int getOrder() {
        return ORDER;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        if (!isProtected(exchange.getRequest().getPath().pathWithinApplication())) {
            return chain.filter(exchange);
        }
        String authorization = exchange.getRequest().getHeaders().getFirst(HttpHeaders.AUTHORIZATION);
        if (authorization == null || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())
                || authorization.substring(BEARER.length()).isBlank()) {
            return refuse(exchange, "You didn't provide an API key. You need to provide your API key in an "
                    + "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
        }
        Optional<ApiKey> key = keys.find(authorization.substring(BEARER.length()).strip());
        if (key.isEmpty()) {
            return refuse(exchange, "Incorrect API key provided.");
        }
        exchange.getAttributes().put(KEY_ATTRIBUTE, key.get());
        exchange.getAttributes().put(KEY_ID_ATTRIBUTE, key.get().id());
        return chain.filter(exchange);
    }

    boolean isProtected(PathContainer path) {
        return protectedPaths.stream().anyMatch(p -> p.matches(path)) && openPaths.stream().noneMatch(p -> p.matches(path));
    }

    private static Mono<Void> refuse(ServerWebExchange exchange, String message) {
        exchange.getResponse().getHeaders().set(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
        return Mono.error(ApiException.invalidApiKey(message));
    }

    /** The caller's key, when the request was authenticated. */
    public static ApiKey key(ServerWebExchange exchange) {
        return exchange.getAttribute(KEY_ATTRIBUTE) instanceof ApiKey k ? k : null;
    }
}
