package dev.llamaserve.engine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.testing.Collector;
import dev.llamaserve.engine.testing.LogCapture;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class EventStreamTest {

    private final Executor direct = Runnable::run;
    private final AtomicInteger cancels = new AtomicInteger();

    private static EngineEvent.Tokens tok(int id) {
        return new EngineEvent.Tokens(new int[] {id}, "t" + id, List.of());
    }

    private static EngineEvent.Finished done() {
        return new EngineEvent.Finished(EngineEvent.FinishReason.LENGTH, new EngineEvent.Usage(1, 2), "", null, null);
    }

    @Test
    void buffersBeforeSubscriptionAndDeliversOnDemand() {
        EventStream s = new EventStream(direct, 100, cancels::incrementAndGet);
        assertTrue(s.offer(tok(1)));
        assertTrue(s.offer(tok(2)));
        s.complete(done());
        Collector c = new Collector(0);
        s.subscribe(c);
        assertEquals(0, c.events.size(), "no demand, nothing delivered");
        c.subscription.request(1);
        assertEquals(1, c.events.size());
        c.subscription.request(1);
        assertEquals(2, c.events.size());
        assertFalse(c.completed);
        c.subscription.request(5);
        assertEquals(3, c.events.size());
        assertInstanceOf(EngineEvent.Finished.class, c.events.get(2));
        assertTrue(c.completed);
        assertEquals(0, cancels.get());
    }

    @Test
    void refusesOnceTheConsumerIsTooFarBehindButAlwaysTakesTheFinalEvent() {
        EventStream s = new EventStream(direct, 3, cancels::incrementAndGet);
        Collector c = new Collector(1);
        s.subscribe(c);
        assertTrue(s.offer(tok(1))); // delivered at once
        assertTrue(s.offer(tok(2)));
        assertTrue(s.offer(tok(3)));
        assertTrue(s.offer(tok(4)));
        assertFalse(s.offer(tok(5)), "three undelivered: refused");
        s.complete(done());
        assertEquals(4, s.buffered());
        c.subscription.request(10);
        assertEquals(5, c.events.size());
        assertTrue(c.completed);
    }

    @Test
    void singleSubscriber() {
        EventStream s = new EventStream(direct, 10, cancels::incrementAndGet);
        Collector first = Collector.subscribe(s);
        Collector second = Collector.subscribe(s);
        assertInstanceOf(IllegalStateException.class, second.error);
        s.offer(tok(1));
        assertEquals(1, first.events.size());
        assertEquals(0, second.events.size());
    }

    @Test
    void cancelAbortsOnceAndStopsDelivery() {
        EventStream s = new EventStream(direct, 10, cancels::incrementAndGet);
        Collector c = Collector.subscribe(s);
        s.offer(tok(1));
        c.subscription.cancel();
        c.subscription.cancel();
        assertEquals(1, cancels.get());
        s.offer(tok(2));
        s.complete(done());
        assertEquals(1, c.events.size());
    }

    @Test
    void cancelAfterTheEndDoesNotAbort() {
        EventStream s = new EventStream(direct, 10, cancels::incrementAndGet);
        Collector c = Collector.subscribe(s);
        s.complete(done());
        c.subscription.cancel();
        assertEquals(0, cancels.get());
    }

    @Test
    void nonPositiveRequestIsAnError() {
        EventStream s = new EventStream(direct, 10, cancels::incrementAndGet);
        Collector c = Collector.subscribe(s);
        c.subscription.request(0);
        assertInstanceOf(IllegalArgumentException.class, c.error);
        assertEquals(1, cancels.get());
    }

    /**
     * Reactive Streams §1.3: no event reaches the subscriber before its {@code onSubscribe} returns, though it
     * requests there and events wait (here the drain runs on the calling thread; on the delivery executor it would
     * otherwise run beside {@code onSubscribe}).
     */
    @Test
    void nothingIsDeliveredBeforeOnSubscribeReturns() {
        EventStream s = new EventStream(direct, 10, cancels::incrementAndGet);
        s.offer(tok(1));
        s.complete(done());
        List<String> signals = new ArrayList<>();
        s.subscribe(new Flow.Subscriber<EngineEvent>() {
            @Override
            public void onSubscribe(Flow.Subscription subscription) {
                signals.add("onSubscribe");
                subscription.request(Long.MAX_VALUE);
                signals.add("onSubscribe returns");
            }

            @Override
            public void onNext(EngineEvent item) {
                signals.add("onNext");
            }

            @Override
            public void onError(Throwable t) {
                signals.add("onError");
            }

            @Override
            public void onComplete() {
                signals.add("onComplete");
            }
        });
        assertEquals(List.of("onSubscribe", "onSubscribe returns", "onNext", "onNext", "onComplete"), signals);
    }

    /** A request(n <= 0) made while events wait ends the stream with one error, and nothing follows it. */
    @Test
    void aNonPositiveRequestIsOneErrorAndTheLast() {
        EventStream s = new EventStream(direct, 10, cancels::incrementAndGet);
        s.offer(tok(1));
        Collector c = new Collector(0);
        s.subscribe(c);
        c.subscription.request(-1);
        c.subscription.request(0);
        assertInstanceOf(IllegalArgumentException.class, c.error);
        assertTrue(c.error.getMessage().contains("was -1"), c.error.getMessage());
        assertEquals(0, c.events.size(), "no event after the error");
        assertEquals(1, cancels.get());
    }

    /** A subscriber that throws on an event is cancelled (Reactive Streams), and the failure is logged, not lost. */
    @Test
    void aSubscriberThatThrowsIsCancelledAndLoggedWithoutItsMessage() {
        try (LogCapture logged = LogCapture.of(EventStream.class)) {
            EventStream s = new EventStream(direct, 100, cancels::incrementAndGet);
            s.subscribe(new Flow.Subscriber<EngineEvent>() {
                @Override
                public void onSubscribe(Flow.Subscription subscription) {
                    subscription.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(EngineEvent item) {
                    throw new IllegalStateException("generated text the log must not hold");
                }

                @Override
                public void onError(Throwable t) {}

                @Override
                public void onComplete() {}
            });
            assertTrue(s.offer(tok(1)));
            assertEquals(1, cancels.get(), "cancelled");
            assertEquals(1, logged.events().size());
            String line = logged.events().get(0).getFormattedMessage();
            assertTrue(line.contains("IllegalStateException"), line);
            assertFalse(line.contains("generated text"), line);
            assertEquals(null, logged.events().get(0).getThrowableProxy(), "no stack trace with the message in it");
        }
    }
}
