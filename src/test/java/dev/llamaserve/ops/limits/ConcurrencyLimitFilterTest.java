package dev.llamaserve.ops.limits;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.api.openai.ApiException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * The slot of a generation request is given back once its last bytes are handed to the connection, before the
 * exchange completes: a client that sends its next request as soon as it holds the last answer is not refused by
 * that answer's slot.
 */
class ConcurrencyLimitFilterTest {

    private final AtomicInteger refusals = new AtomicInteger();
    private final ConcurrencyLimitFilter filter = new ConcurrencyLimitFilter(1, refusals::incrementAndGet);

    private static MockServerWebExchange chat() {
        return MockServerWebExchange.from(MockServerHttpRequest.post("/v1/chat/completions").build());
    }

    private static DataBuffer bytes(String s) {
        return DefaultDataBufferFactory.sharedInstance.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    /** Runs the filter over a handler that writes with {@code write}, then holds the exchange open until released. */
    private Disposable serve(Function<ServerWebExchange, Mono<Void>> write, Sinks.Empty<Void> exchangeDone) {
        return filter.filter(chat(), ex -> write.apply(ex).then(exchangeDone.asMono())).subscribe(v -> {}, e -> {});
    }

    @Test
    void aStreamsSlotIsFreeOnceItsLastBytesAreHandedOn() {
        Sinks.Empty<Void> done = Sinks.empty();
        serve(ex -> ex.getResponse().writeAndFlushWith(Flux.just(Flux.just(bytes("data: a\n\n")),
                Flux.just(bytes("data: [DONE]\n\n")))), done);
        assertThat(filter.inFlight()).as("the exchange is still open, its bytes all written").isZero();
        // the next request of the same client is admitted, not refused by the first one's slot
        Sinks.Empty<Void> next = Sinks.empty();
        serve(ex -> Mono.empty(), next);
        assertThat(filter.inFlight()).isEqualTo(1);
        assertThat(refusals).hasValue(0);
        done.tryEmitEmpty();
        next.tryEmitEmpty();
        assertThat(filter.inFlight()).as("each slot given back once").isZero();
    }

    @Test
    void aWholeBodysSlotIsFreeOnceItIsHandedOn() {
        Sinks.Empty<Void> done = Sinks.empty();
        serve(ex -> ex.getResponse().writeWith(Mono.just(bytes("{}"))), done);
        assertThat(filter.inFlight()).isZero();
        done.tryEmitEmpty();
        assertThat(filter.inFlight()).isZero();
    }

    @Test
    void aSlotIsHeldWhileTheAnswerIsBeingWrittenAndRefusesTheNext() {
        Sinks.Many<DataBuffer> body = Sinks.many().unicast().onBackpressureBuffer();
        Sinks.Empty<Void> done = Sinks.empty();
        serve(ex -> ex.getResponse().writeWith(body.asFlux()), done);
        body.tryEmitNext(bytes("data: a\n\n"));
        assertThat(filter.inFlight()).as("mid-stream").isEqualTo(1);
        Throwable[] refused = new Throwable[1];
        filter.filter(chat(), ex -> Mono.empty()).subscribe(v -> {}, e -> refused[0] = e);
        assertThat(refused[0]).isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(503));
        assertThat(refusals).hasValue(1);
        body.tryEmitComplete();
        assertThat(filter.inFlight()).isZero();
        done.tryEmitEmpty();
    }

    /** Only a POST takes a slot: a GET or HEAD of the route is its 405 even when the server is full. */
    @Test
    void otherMethodsTakeNoSlot() {
        Sinks.Empty<Void> done = Sinks.empty();
        serve(ex -> Mono.empty(), done);
        assertThat(filter.inFlight()).isEqualTo(1);
        for (MockServerHttpRequest request : java.util.List.of(
                MockServerHttpRequest.get("/v1/chat/completions").build(),
                MockServerHttpRequest.head("/v1/completions").build())) {
            boolean[] passed = new boolean[1];
            filter.filter(MockServerWebExchange.from(request), ex -> {
                passed[0] = true;
                return Mono.empty();
            }).block();
            assertThat(passed[0]).as(request.getMethod() + " passes to its 405").isTrue();
        }
        assertThat(refusals).hasValue(0);
        done.tryEmitEmpty();
        assertThat(filter.inFlight()).isZero();
    }

    @Test
    void anAnswerWithoutABodyGivesItsSlotBackWhenTheExchangeEnds() {
        filter.filter(chat(), ex -> Mono.error(new IllegalStateException("refused downstream")))
                .subscribe(v -> {}, e -> {});
        assertThat(filter.inFlight()).isZero();
        Sinks.Empty<Void> done = Sinks.empty();
        Disposable held = serve(ex -> Mono.empty(), done);
        assertThat(filter.inFlight()).isEqualTo(1);
        held.dispose();   // the client left
        assertThat(filter.inFlight()).isZero();
    }
}
