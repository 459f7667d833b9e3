package dev.llamaserve.ops.auth;

import dev.llamaserve.api.openai.OpenAiErrorHandler;
import dev.llamaserve.api.openai.RequestIdFilter;
import dev.llamaserve.ops.limits.RateLimitHeaders;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.web.cors.CorsConfiguration;
import org.springframework.web.cors.reactive.CorsWebFilter;
import org.springframework.web.cors.reactive.UrlBasedCorsConfigurationSource;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * CORS for browser apps served from other origins ({@code llm.api.cors-allowed-origins}; none by default: only the
 * playground, from this origin). Runs before the API key check, so that a preflight (an {@code OPTIONS} without the
 * key, which browsers send before a request with {@code Authorization}) is answered, and before the limits, which
 * a preflight does not count against. A request from an origin not listed is refused with 403 by the browser's
 * rules (Spring's {@link CorsWebFilter}); the key is still required on every actual request.
 */
public final class CorsFilter implements WebFilter, Ordered {

    /** Before the API key ({@link ApiKeyFilter#ORDER}). */
    public static final int ORDER = ApiKeyFilter.ORDER - 5;

    /** What a browser client may read of a response: the request id, the rate-limit and retry headers. */
    static final List<String> EXPOSED = Stream.concat(Stream.of(RequestIdFilter.HEADER, HttpHeaders.RETRY_AFTER,
            OpenAiErrorHandler.RETRY_AFTER_MS, OpenAiErrorHandler.SHOULD_RETRY), RateLimitHeaders.names().stream())
            .toList();

    private final CorsWebFilter delegate;   // null: no origin allowed, the filter passes everything on

    /** @param allowedOrigins origins or patterns ({@code https://*.example.com}, {@code *}); empty: CORS off */
    public CorsFilter(List<String> allowedOrigins) {
        if (allowedOrigins.isEmpty()) {
            this.delegate = null;
            return;
        }
        CorsConfiguration c = new CorsConfiguration();
        c.setAllowedOriginPatterns(allowedOrigins);
        c.setAllowedMethods(List.of("GET", "POST", "OPTIONS"));
        c.setAllowedHeaders(List.of("*"));   // Authorization, Content-Type, and the OpenAI SDKs' x-stainless-*
        c.setExposedHeaders(EXPOSED);
        c.setAllowCredentials(false);        // keys travel in Authorization, never in cookies
        c.setMaxAge(Duration.ofHours(1));
        UrlBasedCorsConfigurationSource source = new UrlBasedCorsConfigurationSource();
        source.registerCorsConfiguration("/**", c);
        this.delegate = new CorsWebFilter(source);
    }

    @Override
    public int getOrder() {
        return ORDER;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        return delegate == null ? chain.filter(exchange) : delegate.filter(exchange, chain);
    }
}
