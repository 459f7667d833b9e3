package dev.llamaserve.ops.limits;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.api.openai.ApiException;
import dev.llamaserve.ops.auth.ApiKey;
import dev.llamaserve.ops.auth.ApiKeyFilter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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

    private static MockServerWebExchange chatFrom(String address, ApiKey key) {
        MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.post("/v1/chat/completions")
                .remoteAddress(new InetSocketAddress(address, 40000)).build());
        if (key != null) {
            exchange.getAttributes().put(ApiKeyFilter.KEY_ATTRIBUTE, key);
        }
        return exchange;
    }

    private static ApiKey key(String id) {
        return new ApiKey(id, new byte[32], null, null);
    }

    /** Runs the filter on this exchange, held open until done completes; the refusal, if any, into refused. */
    private static void hold(ConcurrencyLimitFilter f, ServerWebExchange exchange, Sinks.Empty<Void> done,
            List<Throwable> refused) {
        f.filter(exchange, ex -> done.asMono()).subscribe(v -> {}, refused::add);
    }

    /**
     * With a per-client bound, a client (its API key, else its address) holds at most that many slots: one more of
     * its own is its 429, taking no slot of the server's, while another client is still admitted.
     */
    @Test
    void aClientHoldsAtMostItsShareOfTheSlots() {
        AtomicInteger clientRefusals = new AtomicInteger();
        ConcurrencyLimitFilter shared = new ConcurrencyLimitFilter(4, 2, refusals::incrementAndGet,
                clientRefusals::incrementAndGet);
        List<Throwable> refused = new ArrayList<>();
        List<Sinks.Empty<Void>> held = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            held.add(Sinks.empty());
            hold(shared, chatFrom("10.0.0.1", key("alice")), held.get(i), refused);
        }
        assertThat(refused).singleElement().isInstanceOfSatisfying(ApiException.class, e -> {
            assertThat(e.status()).isEqualTo(429);
            assertThat(e.type()).isEqualTo("requests");
            assertThat(e.getMessage()).contains("llm.ops.max-concurrent-requests-per-client").contains("2");
        });
        assertThat(clientRefusals).hasValue(1);
        assertThat(refusals).as("not the server's refusal").hasValue(0);
        assertThat(shared.inFlight()).as("the refused one took no slot").isEqualTo(2);
        assertThat(shared.inFlight("key:alice")).isEqualTo(2);

        // the same address with another key is another client; a key is the same client from any address
        Sinks.Empty<Void> bob = Sinks.empty();
        hold(shared, chatFrom("10.0.0.1", key("bob")), bob, refused);
        hold(shared, chatFrom("10.0.0.9", key("alice")), Sinks.empty(), refused);
        assertThat(shared.inFlight("key:bob")).isEqualTo(1);
        assertThat(refused).hasSize(2);
        // without a key, the address is the client
        Sinks.Empty<Void> anonymous = Sinks.empty();
        hold(shared, chatFrom("10.0.0.1", null), anonymous, refused);
        assertThat(shared.inFlight("ip:10.0.0.1")).isEqualTo(1);
        assertThat(shared.inFlight()).isEqualTo(4);

        held.get(0).tryEmitEmpty();
        assertThat(shared.inFlight("key:alice")).as("a finished request gives its client's slot back").isEqualTo(1);
        held.get(1).tryEmitEmpty();
        bob.tryEmitEmpty();
        anonymous.tryEmitEmpty();
        assertThat(shared.inFlight()).isZero();
        assertThat(shared.clientsInFlight()).as("no entry kept for a client with nothing in flight").isZero();
    }

    /** A key's own bound (its keys-file line) replaces the global per-client one for that key, 0 lifting it. */
    @Test
    void aKeysOwnBoundReplacesTheGlobalOne() {
        ApiKey batch = new ApiKey("batch", new byte[32], null, null, 1);
        ApiKey trusted = new ApiKey("trusted", new byte[32], null, null, 0);
        for (int global : new int[] {0, 2}) {
            ConcurrencyLimitFilter shared = new ConcurrencyLimitFilter(8, global, refusals::incrementAndGet, () -> {});
            List<Throwable> refused = new ArrayList<>();
            hold(shared, chatFrom("10.0.0.1", batch), Sinks.empty(), refused);
            hold(shared, chatFrom("10.0.0.1", batch), Sinks.empty(), refused);
            assertThat(refused).as("global %d", global).singleElement().isInstanceOfSatisfying(ApiException.class,
                    e -> assertThat(e.getMessage()).contains("this key's limit is 1").contains("llm.api.keys-file"));
            for (int i = 0; i < 3; i++) {
                hold(shared, chatFrom("10.0.0.1", trusted), Sinks.empty(), refused);
            }
            assertThat(refused).as("a key whose own bound is 0 is not bounded, global %d", global).hasSize(1);
            assertThat(shared.inFlight("key:batch")).isEqualTo(1);
            assertThat(shared.inFlight("key:trusted")).isZero();
        }
    }

    /** A request the server's bound refuses gives back the client slot it took first. */
    @Test
    void theServersRefusalGivesTheClientSlotBack() {
        ConcurrencyLimitFilter shared = new ConcurrencyLimitFilter(1, 2, refusals::incrementAndGet, () -> {});
        List<Throwable> refused = new ArrayList<>();
        Sinks.Empty<Void> done = Sinks.empty();
        hold(shared, chatFrom("10.0.0.1", key("alice")), done, refused);
        hold(shared, chatFrom("10.0.0.2", key("bob")), Sinks.empty(), refused);
        assertThat(refused).singleElement().isInstanceOfSatisfying(ApiException.class,
                e -> assertThat(e.status()).isEqualTo(503));
        assertThat(shared.inFlight("key:bob")).isZero();
        done.tryEmitEmpty();
        assertThat(shared.clientsInFlight()).isZero();
        assertThat(shared.inFlight()).isZero();
    }

    /** Off (0), nothing is counted per client. */
    @Test
    void withoutABoundNoClientIsCounted() {
        ConcurrencyLimitFilter unbounded = new ConcurrencyLimitFilter(8, 0, refusals::incrementAndGet, () -> {});
        List<Throwable> refused = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            hold(unbounded, chatFrom("10.0.0.1", key("alice")), Sinks.empty(), refused);
        }
        assertThat(refused).isEmpty();
        assertThat(unbounded.inFlight()).isEqualTo(5);
        assertThat(unbounded.clientsInFlight()).isZero();
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
