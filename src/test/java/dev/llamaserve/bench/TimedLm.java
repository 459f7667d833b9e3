package dev.llamaserve.bench;

import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.model.ForwardBatch;
import dev.llamaserve.engine.model.ModelConfig;

/**
 * The real model with a clock around each {@code forward} and {@code forwardArgmax}: the bench compares the time
 * spent inside the forward pass (argument building, the TorchScript step, the logits or argmax copy) with the
 * engine's wall time over the same span, so that what is left is the engine's Java (scheduling, sampling,
 * detokenizing, events).
 */
final class TimedLm implements CausalLm {

    private final CausalLm model;
    private long[] starts = new long[1 << 16];
    private long[] ends = new long[1 << 16];
    private int[] tokens = new int[1 << 16];
    private volatile int count;

    TimedLm(CausalLm model) {
        this.model = model;
    }

    @Override
    public ModelConfig config() {
        return model.config();
    }

    @Override
    public int kvSlots() {
        return model.kvSlots();
    }

    @Override
    public int maxChunkTokens() {
        return model.maxChunkTokens();
    }

    @Override
    public float[] forward(ForwardBatch batch) {
        return forward(batch, null);
    }

    @Override
    public float[] forward(ForwardBatch batch, float[] reuse) {
        long t0 = System.nanoTime();
        float[] out = model.forward(batch, reuse);
        record(t0, System.nanoTime(), batch.numTokens());
        return out;
    }

    /** A step from t0 to t1 of {@code numTokens} tokens (the engine thread's: one writer). */
    private void record(long t0, long t1, int numTokens) {
        int i = count;
        if (i == starts.length) {   // keep the newest half
            int half = i / 2;
            System.arraycopy(starts, half, starts, 0, half);
            System.arraycopy(ends, half, ends, 0, half);
            System.arraycopy(tokens, half, tokens, 0, half);
            i = half;
        }
        starts[i] = t0;
        ends[i] = t1;
        tokens[i] = numTokens;
        count = i + 1;
    }

    @Override
    public boolean argmaxInForward() {
        return model.argmaxInForward();
    }

    @Override
    public int[] forwardArgmax(ForwardBatch batch, int width) {
        long t0 = System.nanoTime();
        int[] out = model.forwardArgmax(batch, width);
        record(t0, System.nanoTime(), batch.numTokens());
        return out;
    }

    /** Steps and their time inside {@code forward} between two {@code System.nanoTime()} instants. */
    record Span(int steps, long forwardNanos, long wallNanos, double meanTokens) {
        double outsidePct() {
            return wallNanos == 0 ? 0 : 100.0 * (wallNanos - forwardNanos) / wallNanos;
        }
    }

    /** The forwards that started at or after {@code from} and ended by {@code to} (engine thread: call after it idles). */
    Span span(long from, long to) {
        int n = count;
        long inside = 0;
        long first = Long.MAX_VALUE;
        long last = 0;
        int steps = 0;
        long toks = 0;
        for (int i = 0; i < n; i++) {
            if (starts[i] >= from && ends[i] <= to) {
                inside += ends[i] - starts[i];
                first = Math.min(first, starts[i]);
                last = Math.max(last, ends[i]);
                steps++;
                toks += tokens[i];
            }
        }
        // wall time from the first to the last forward of the span: the engine's Java between them is counted
        return new Span(steps, inside, steps == 0 ? 0 : last - first, steps == 0 ? 0 : (double) toks / steps);
    }

    @Override
    public void close() {
        model.close();
    }
}
