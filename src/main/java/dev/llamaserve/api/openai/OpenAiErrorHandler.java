package dev.llamaserve.api.openai;

import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.annotation.Order;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;
import reactor.core.publisher.Mono;

/**
 * Renders every failure that reaches the web layer, on every route (unknown routes and actuator
 * included), as an OpenAI error body. Ordered before Spring Boot's own error handler.
 */
@Component
@Order(-2)
public class OpenAiErrorHandler implements WebExceptionHandler {

    /** The OpenAI SDKs' header: {@code false} stops their automatic retries. */
    public static final String SHOULD_RETRY = "x-should-retry";

    /** OpenAI's header: the wait in milliseconds, next to Retry-After in seconds. */
    public static final String RETRY_AFTER_MS = "retry-after-ms";

    private static final Logger log = LoggerFactory.getLogger(OpenAiErrorHandler.class);

    private final ApiSettings settings;

    public OpenAiErrorHandler(ApiSettings settings) {
        this.settings = settings;
    }

    @Override
    public Mono<Void> handle(ServerWebExchange exchange, Throwable ex) {
        ServerHttpResponse response = exchange.getResponse();
        if (response.isCommitted()) {
            return Mono.error(ex);
        }
        String requestId = RequestIdFilter.requestId(exchange);
        ApiException error = ApiErrors.from(ex, settings, requestId);
        String route = exchange.getRequest().getMethod() + " " + exchange.getRequest().getPath().value();
        if (error.retry()) {
            // overloaded, loading, draining: expected under load; one line, no stack trace
            log.warn("request_id={} {} -> {} {}", requestId, route, error.status(), error.code());
        } else if (error.status() >= 500) {
            log.warn("request_id={} {} -> {} {}", requestId, route, error.status(), error.code(), ex);
        } else {
            log.debug("request_id={} {} -> {} {} param={}", requestId, route, error.status(), error.code(),
                    error.param());
        }
        if (ex instanceof org.springframework.web.server.ResponseStatusException rse) {
            // what the framework says with the status: Allow with a 405 (RFC 9110 requires it), Accept with a 415
            rse.getHeaders().forEach((name, values) -> response.getHeaders().put(name, values));
        }
        return write(response, error, settings);
    }

    /** Writes {@code error} as the whole response (status, headers, JSON body). */
    static Mono<Void> write(ServerHttpResponse response, ApiException error, ApiSettings settings) {
        response.setStatusCode(HttpStatusCode.valueOf(error.status()));
        HttpHeaders headers = response.getHeaders();
        headers.setContentType(MediaType.APPLICATION_JSON);
        headers.remove(HttpHeaders.CONTENT_LENGTH);
        if (error.retry()) {
            Duration wait = error.retryAfter() != null ? error.retryAfter() : settings.retryAfter();
            headers.set(HttpHeaders.RETRY_AFTER, ApiSettings.retryAfterSeconds(wait));
            headers.set(RETRY_AFTER_MS, Long.toString(Math.max(0, wait.toMillis())));
        } else if (error.noRetry()) {
            // a 429 no wait helps (larger than the whole limit), a 500 the request itself caused: the OpenAI SDKs
            // retry a 429 and every 5xx twice unless told not to
            headers.set(SHOULD_RETRY, "false");
        }
        byte[] body = OpenAiJson.MAPPER.writeValueAsBytes(error.body());
        DataBuffer buffer = response.bufferFactory().wrap(body);
        return response.writeWith(Mono.just(buffer));
    }
}
