package dev.llamaserve.api.openai;

import java.util.List;
import java.util.function.Function;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.UnsupportedMediaTypeStatusException;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/** Reading request bodies (with the size limit) and writing JSON bodies with {@link OpenAiJson}. */
final class JsonResponses {

    private JsonResponses() {}

    static Mono<Void> write(ServerHttpResponse response, Object body) {
        response.setStatusCode(HttpStatus.OK);
        response.getHeaders().setContentType(MediaType.APPLICATION_JSON);
        byte[] bytes = OpenAiJson.MAPPER.writeValueAsBytes(body);
        return response.writeWith(Mono.just(response.bufferFactory().wrap(bytes)));
    }

    /**
     * The whole body, or a 413 when it is longer than {@code llm.api.max-body-bytes}, a 503 {@code overloaded} when
     * a chunk of it finds no room in {@code llm.api.max-body-bytes-in-flight} ({@link BodyBudget}: a body holds room
     * for the bytes it has sent, from its first chunk to its end), a 408 when it takes longer than
     * {@code llm.api.body-timeout} to arrive (a body that stalls half-sent held its admission slot for ever:
     * 512 such sockets refused every request), a 415 for a type other than JSON (a page of another site may post
     * {@code text/plain} without a CORS preflight; no API client sends it) or a content coding. An empty body reads
     * as 0 bytes. Delivered on a bounded-elastic thread: what a body costs next (parsing it, tokenizing a prompt of
     * megabytes, compiling a schema's grammar: seconds at worst) must not hold the connection's event loop, which
     * serves other connections and the probes too (a few large requests had held {@code /livez} for 22 s).
     */
    static Mono<byte[]> readBody(ServerHttpRequest request, ApiSettings settings) {
        return readBody(request, settings, Function.identity());
    }

    /**
     * The body, read as {@link #readBody(ServerHttpRequest, ApiSettings)} reads it, and what {@code work} makes of it
     * on the thread it is delivered on (parsing, tokenizing, compiling a schema). The body's room in
     * {@code llm.api.max-body-bytes-in-flight} is held until {@code work} has run: the bytes joined and waiting for a
     * bounded-elastic thread count too. Reactor re-throws a {@link StackOverflowError} (deep recursion on a crafted
     * input) instead of passing it on, and the client was then never answered: it becomes the request's 400 here
     * ({@link ApiErrors#nestedTooDeeply}).
     */
    static <T> Mono<T> readBody(ServerHttpRequest request, ApiSettings settings, Function<byte[], T> work) {
        long maxBytes = settings.maxBodyBytes();
        MediaType type = request.getHeaders().getContentType();
        if (type != null && !(type.getType().equals("application") && (type.getSubtype().equals("json")
                || type.getSubtype().endsWith("+json")))) {
            return Mono.error(new UnsupportedMediaTypeStatusException(type, List.of(MediaType.APPLICATION_JSON)));
        }
        String coding = request.getHeaders().getFirst(HttpHeaders.CONTENT_ENCODING);
        if (coding != null && !coding.isBlank() && !coding.strip().equalsIgnoreCase("identity")) {
            return Mono.error(new ApiException(415, "invalid_request_error", null, "unsupported_content_encoding",
                    "Content-Encoding " + coding.strip() + " is not supported: send the JSON body as it is", false));
        }
        long declared = request.getHeaders().getContentLength();
        if (declared > maxBytes) {
            return Mono.error(ApiException.tooLarge(maxBytes));
        }
        // the body holds room as its bytes arrive, all given back once: when work has run, or at any other end
        return Mono.defer(() -> {
            BodyBudget.Hold hold = settings.bodies().hold();
            Flux<DataBuffer> counted = request.getBody().handle((buffer, sink) -> {
                int n = buffer.readableByteCount();
                ApiException refusal = hold.bytes() + n > maxBytes ? ApiException.tooLarge(maxBytes)
                        : hold.grow(n) ? null
                        : ApiException.unavailable("overloaded", "Request bodies being read fill this server's"
                                + " memory for them (llm.api.max-body-bytes-in-flight); retry later.");
                if (refusal == null) {
                    sink.next(buffer);
                } else {
                    DataBufferUtils.release(buffer);
                    sink.error(refusal);
                }
            });
            return DataBufferUtils.join(counted)
                    .map(buffer -> {
                        try {
                            byte[] bytes = new byte[buffer.readableByteCount()];
                            buffer.read(bytes);
                            return bytes;
                        } finally {
                            DataBufferUtils.release(buffer);
                        }
                    })
                    .defaultIfEmpty(new byte[0])
                    .timeout(settings.bodyTimeout(), Mono.error(() -> new ApiException(408, "invalid_request_error",
                            null, "request_timeout", "The request body did not arrive within "
                                    + settings.bodyTimeout().toSeconds() + " s (llm.api.body-timeout)", false)))
                    .doOnError(e -> hold.close())   // refused, too large, timed out: before the error is passed on
                    .publishOn(Schedulers.boundedElastic())
                    .map(body -> {
                        try {
                            return work.apply(body);
                        } catch (StackOverflowError e) {
                            throw ApiErrors.nestedTooDeeply();
                        } finally {
                            hold.close();
                        }
                    })
                    .doFinally(signal -> hold.close());   // cancelled before work ran
        });
    }
}
