package dev.llamaserve.engine.testing;

import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.model.ForwardBatch;
import dev.llamaserve.engine.model.ModelConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Wraps any {@link CausalLm} (the real one or the fake) for tests: when gated, each forward call waits
 * for a permit ({@link #allow}), so a test can advance the engine one step at a time; and a fault
 * predicate makes chosen calls throw before reaching the model (fault injection); and an action can run at the start
 * of every forward call, on the engine thread while its step runs (a test's moves at exact step boundaries).
 */
public final class ControlledLm implements CausalLm {

    private final CausalLm delegate;
    private final Semaphore permits = new Semaphore(0);
    private final AtomicInteger calls = new AtomicInteger();
    private final AtomicInteger argmaxCalls = new AtomicInteger();
    private volatile boolean argmaxes = true;
    private final List<int[]> queryLens = Collections.synchronizedList(new ArrayList<>());
    private volatile boolean gated;
    private volatile Predicate<ForwardBatch> fault = b -> false;
    private volatile Predicate<ForwardBatch> error = b -> false;
    private volatile Consumer<ForwardBatch> beforeForward = b -> {};

    public ControlledLm(CausalLm delegate) {
        this.delegate = delegate;
    }

    /** Gating on makes later forward calls wait for {@link #allow}; off releases any waiting call. */
    public ControlledLm gated(boolean on) {
        if (on) {
            permits.drainPermits();
            gated = true;
        } else {
            gated = false;
            permits.release(1_000_000);
        }
        return this;
    }

    /** True while a forward call waits at the gate (the engine thread is inside a step). */
    public boolean blocked() {
        return permits.hasQueuedThreads();
    }

    /** Lets {@code steps} more forward calls run. */
    public void allow(int steps) {
        permits.release(steps);
    }

    public void failWhen(Predicate<ForwardBatch> predicate) {
        fault = predicate;
    }

    /** Forward calls matching {@code predicate} throw an {@link Error} (an OutOfMemoryError), not an exception. */
    public void errorWhen(Predicate<ForwardBatch> predicate) {
        error = predicate;
    }

    /**
     * Runs {@code action} on the batch of every later forward call, on the engine thread, after the gate and before
     * the model: what it submits or aborts the engine takes up once the step ends, before it schedules the next one.
     */
    public void beforeForward(Consumer<ForwardBatch> action) {
        beforeForward = action;
    }

    /** Each forward call's new-token count per sequence, in call order. */
    public List<int[]> queryLens() {
        synchronized (queryLens) {
            return new ArrayList<>(queryLens);
        }
    }

    /** Forward calls of either kind: logits ({@code forward}) and argmaxes ({@code forwardArgmax}). */
    public int calls() {
        return calls.get();
    }

    /** Those of {@link #calls} that returned argmaxes. */
    public int argmaxCalls() {
        return argmaxCalls.get();
    }

    /** Whether the model's own argmaxes pass through ({@link CausalLm#argmaxInForward}; on by default), else logits only. */
    public ControlledLm argmaxes(boolean on) {
        argmaxes = on;
        return this;
    }

    @Override
    public ModelConfig config() {
        return delegate.config();
    }

    @Override
    public int kvSlots() {
        return delegate.kvSlots();
    }

    @Override
    public float[] forward(ForwardBatch batch) {
        before(batch);
        return delegate.forward(batch);
    }

    @Override
    public boolean argmaxInForward() {
        return argmaxes && delegate.argmaxInForward();
    }

    @Override
    public int[] forwardArgmax(ForwardBatch batch, int width) {
        before(batch);
        argmaxCalls.incrementAndGet();
        return delegate.forwardArgmax(batch, width);
    }

    /** The gate, the action, the counts and the injected faults of every forward call, of either kind. */
    private void before(ForwardBatch batch) {
        if (gated) {
            permits.acquireUninterruptibly();
        }
        beforeForward.accept(batch);
        calls.incrementAndGet();
        queryLens.add(batch.queryLen().clone());
        if (fault.test(batch)) {
            throw new IllegalStateException("injected forward-pass failure");
        }
        if (error.test(batch)) {
            throw new OutOfMemoryError("injected (test)");
        }
    }

    @Override
    public void close() {
        delegate.close();
    }
}
