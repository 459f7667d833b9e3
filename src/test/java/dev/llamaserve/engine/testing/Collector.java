package dev.llamaserve.engine.testing;

import dev.llamaserve.engine.EngineEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;

/** A test subscriber: requests everything (or nothing until told) and records what arrives. */
public final class Collector implements Flow.Subscriber<EngineEvent> {

    public final List<EngineEvent> events = Collections.synchronizedList(new ArrayList<>());
    public final CompletableFuture<EngineEvent.Finished> finished = new CompletableFuture<>();
    private final long initialRequest;
    public volatile Flow.Subscription subscription;
    public volatile boolean completed;
    public volatile Throwable error;
    /** System.nanoTime() of the first token event and of the last event (0 before). */
    public volatile long firstTokenNanos;
    public volatile long lastTokenNanos;
    /** When each token arrived ({@link System#nanoTime()}), in order. */
    public final List<Long> tokenNanos = Collections.synchronizedList(new ArrayList<>());

    public Collector() {
        this(Long.MAX_VALUE);
    }

    public Collector(long initialRequest) {
        this.initialRequest = initialRequest;
    }

    public static Collector subscribe(Flow.Publisher<EngineEvent> p) {
        Collector c = new Collector();
        p.subscribe(c);
        return c;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        if (initialRequest > 0) {
            s.request(initialRequest);
        }
    }

    @Override
    public void onNext(EngineEvent item) {
        if (item instanceof EngineEvent.Tokens) {
            long now = System.nanoTime();
            if (firstTokenNanos == 0) {
                firstTokenNanos = now;
            }
            lastTokenNanos = now;
            for (int i = 0; i < ((EngineEvent.Tokens) item).tokenIds().length; i++) {
                tokenNanos.add(now);
            }
        }
        events.add(item);
        if (item instanceof EngineEvent.Finished f && f.last()) {
            finished.complete(f);
        }
    }

    @Override
    public void onError(Throwable t) {
        error = t;
        finished.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
        completed = true;
    }

    public EngineEvent.Finished await(Duration timeout) {
        try {
            return finished.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new AssertionError("stream did not finish within " + timeout + "; got " + tokenCount() + " tokens", e);
        }
    }

    public EngineEvent.Finished await() {
        return await(Duration.ofSeconds(60));
    }

    /** The tokens of choice {@code index} (a request with n > 1). */
    public int[] tokens(int index) {
        return tokenEvents().stream().filter(t -> t.index() == index)
                .flatMapToInt(t -> java.util.Arrays.stream(t.tokenIds())).toArray();
    }

    /** Every Finished event, one per choice, in arrival order. */
    public List<EngineEvent.Finished> finishedEvents() {
        synchronized (events) {
            List<EngineEvent.Finished> out = new ArrayList<>();
            for (EngineEvent e : events) {
                if (e instanceof EngineEvent.Finished f) {
                    out.add(f);
                }
            }
            return out;
        }
    }

    public List<EngineEvent.Tokens> tokenEvents() {
        synchronized (events) {
            List<EngineEvent.Tokens> out = new ArrayList<>();
            for (EngineEvent e : events) {
                if (e instanceof EngineEvent.Tokens t) {
                    out.add(t);
                }
            }
            return out;
        }
    }

    public int[] tokens() {
        return tokenEvents().stream().flatMapToInt(t -> java.util.Arrays.stream(t.tokenIds())).toArray();
    }

    public int tokenCount() {
        return tokens().length;
    }

    public List<EngineEvent.TokenLogprob> logprobs() {
        List<EngineEvent.TokenLogprob> out = new ArrayList<>();
        for (EngineEvent.Tokens t : tokenEvents()) {
            out.addAll(t.logprobs());
        }
        return out;
    }

    /** All text: the token deltas and the final event's. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        synchronized (events) {
            for (EngineEvent e : events) {
                if (e instanceof EngineEvent.Tokens t) {
                    sb.append(t.text());
                } else if (e instanceof EngineEvent.Finished f) {
                    sb.append(f.text());
                }
            }
        }
        return sb.toString();
    }

    /** Decode tokens (after each stream's first) per second of the span in which the streams decoded. */
    public static double decodeRate(List<Collector> cs) {
        long start = Long.MAX_VALUE;
        long end = 0;
        int tokens = 0;
        for (Collector c : cs) {
            start = Math.min(start, c.firstTokenNanos);
            end = Math.max(end, c.lastTokenNanos);
            tokens += c.tokenCount() - 1;
        }
        return tokens / ((end - start) / 1e9);
    }
}
