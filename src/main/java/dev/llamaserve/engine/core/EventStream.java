package dev.llamaserve.engine.core;

import dev.llamaserve.engine.EngineEvent;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request's event buffer and its {@link Flow.Publisher}: a single subscriber, delivery on demand
 * ({@code request(n)}), serialized on a delivery executor so that the engine thread only enqueues and
 * never runs subscriber code or waits for it. Events produced before the subscription are kept.
 * {@link #offer} refuses once {@code maxBuffered} events wait undelivered (the engine then aborts the
 * request with an error); the final event is always accepted. Cancelling calls {@code onCancel} (the
 * engine aborts the request). Every signal after {@code onSubscribe} comes from the drain, and the drain starts once
 * {@code onSubscribe} has returned (Reactive Streams §1.3: signals in series, even when the subscriber requests from
 * inside {@code onSubscribe} and events are already queued).
 */
final class EventStream implements Flow.Publisher<EngineEvent>, Flow.Subscription {

    private static final Logger LOG = LoggerFactory.getLogger(EventStream.class);

    private final ConcurrentLinkedQueue<EngineEvent> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger buffered = new AtomicInteger();
    private final AtomicLong demand = new AtomicLong();
    private final AtomicInteger wip = new AtomicInteger();
    private final AtomicReference<Flow.Subscriber<? super EngineEvent>> subscriber = new AtomicReference<>();
    private final AtomicBoolean cancelled = new AtomicBoolean();
    /** A {@code request(n <= 0)}'s error, for the drain to signal. */
    private final AtomicReference<Throwable> refused = new AtomicReference<>();
    private final Executor executor;
    private final int maxBuffered;
    private final Runnable onCancel;
    private volatile boolean terminated;
    /** The subscriber's {@code onSubscribe} has returned: the drain may signal it. */
    private volatile boolean subscribed;

    EventStream(Executor executor, int maxBuffered, Runnable onCancel) {
        this.executor = executor;
        this.maxBuffered = maxBuffered;
        this.onCancel = onCancel;
    }

    /** Engine thread: queues an event; false when the consumer is {@code maxBuffered} events behind. */
    boolean offer(EngineEvent event) {
        if (cancelled.get()) {
            return true;
        }
        if (buffered.get() >= maxBuffered) {
            return false;
        }
        buffered.incrementAndGet();
        queue.add(event);
        signal();
        return true;
    }

    /**
     * Queues the final event (never refused): the engine thread's, or {@code close()}'s when a step outlasts the
     * drain. The subscriber gets the first final event queued; anything queued after it is dropped.
     */
    void complete(EngineEvent.Finished finished) {
        buffered.incrementAndGet();
        queue.add(finished);
        signal();
    }

    /** Events queued and not yet delivered. */
    int buffered() {
        return buffered.get();
    }

    @Override
    public void subscribe(Flow.Subscriber<? super EngineEvent> s) {
        Objects.requireNonNull(s, "subscriber");
        if (!subscriber.compareAndSet(null, s)) {
            s.onSubscribe(new Flow.Subscription() {
                @Override
                public void request(long n) {}

                @Override
                public void cancel() {}
            });
            s.onError(new IllegalStateException("this request's stream accepts a single subscriber"));
            return;
        }
        s.onSubscribe(this);
        subscribed = true;
        signal();
    }

    @Override
    public void request(long n) {
        if (n <= 0) {
            refused.compareAndSet(null,
                    new IllegalArgumentException("request(n) needs n > 0 (Reactive Streams §3.9), was " + n));
            cancel();
            signal();
            return;
        }
        long prev;
        long next;
        do {
            prev = demand.get();
            next = prev + n < 0 ? Long.MAX_VALUE : prev + n;
        } while (!demand.compareAndSet(prev, next));
        signal();
    }

    @Override
    public void cancel() {
        if (cancelled.compareAndSet(false, true)) {
            if (!terminated) {
                onCancel.run();
            }
            signal();
        }
    }

    private void signal() {
        if (!subscribed) {
            return;
        }
        if (wip.getAndIncrement() == 0) {
            try {
                executor.execute(this::drain);
            } catch (RejectedExecutionException e) {
                drain();
            }
        }
    }

    private void drain() {
        Flow.Subscriber<? super EngineEvent> s = subscriber.get();
        int missed = 1;
        for (;;) {
            if (cancelled.get() || terminated) {
                queue.clear();
                Throwable error = refused.getAndSet(null);
                if (error != null && !terminated) {
                    terminated = true;
                    try {
                        s.onError(error);
                    } catch (Throwable t) {   // nowhere else to go
                        LOG.warn("a subscriber failed on the error of its request ({})", where(t));
                    }
                }
            } else {
                long r = demand.get();
                long e = 0;
                while (e != r) {
                    EngineEvent ev = queue.poll();
                    if (ev == null) {
                        break;
                    }
                    buffered.decrementAndGet();
                    e++;
                    try {
                        s.onNext(ev);
                    } catch (Throwable t) {   // the Reactive Streams rule: cancel; logged, or it ends unexplained
                        LOG.warn("a subscriber failed on an event of its request ({}); the request is aborted",
                                where(t));
                        cancel();
                        break;
                    }
                    if (ev instanceof EngineEvent.Finished f && f.last()) {
                        terminated = true;
                        queue.clear();
                        try {
                            s.onComplete();
                        } catch (Throwable t) {   // nowhere else to go
                            LOG.warn("a subscriber failed on the end of its request ({})", where(t));
                        }
                        break;
                    }
                }
                if (e != 0 && r != Long.MAX_VALUE) {
                    demand.addAndGet(-e);
                }
            }
            missed = wip.addAndGet(-missed);
            if (missed == 0) {
                return;
            }
        }
    }

    /** A failure's class and the frame it came from: never its message, which may quote generated text. */
    private static String where(Throwable t) {
        StackTraceElement[] frames = t.getStackTrace();
        return t.getClass().getName() + (frames.length > 0 ? " at " + frames[0] : "");
    }
}
