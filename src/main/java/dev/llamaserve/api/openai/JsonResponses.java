package dev.llamaserve.api.openai;

import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
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
     * The whole body, or a 413 when it is longer than {@code maxBytes}. An empty body reads as 0 bytes. Delivered on
     * a bounded-elastic thread: what a body costs next (parsing it, tokenizing a prompt of megabytes, compiling a
     * schema's grammar: seconds at worst) must not hold the connection's event loop, which serves other connections
     * and the probes too (a few large requests had held {@code /livez} for 22 s).
     */
    static Mono<byte[]> readBody(ServerHttpRequest request, long maxBytes) {
        long declared = request.getHeaders().getContentLength();
        if (declared > maxBytes) {
            return Mono.error(ApiException.tooLarge(maxBytes));
        }
        return DataBufferUtils.join(request.getBody(), (int) maxBytes)
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
                .onErrorMap(DataBufferLimitException.class, e -> ApiException.tooLarge(maxBytes))
                .publishOn(Schedulers.boundedElastic());
    }
}
