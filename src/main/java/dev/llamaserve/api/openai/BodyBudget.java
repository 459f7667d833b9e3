package dev.llamaserve.api.openai;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The bytes of request bodies being read at once ({@code llm.api.max-body-bytes-in-flight}; by default an eighth of
 * the heap the JVM may grow to, at least one largest body). Without it, as many bodies of
 * {@code llm.api.max-body-bytes} as {@code llm.ops.max-concurrent-requests} admits (512 × 4 MiB) ended a pod's
 * 1 GiB heap with an OutOfMemoryError, and every stream on it. A body that finds no room is a 503 {@code overloaded}
 * at once, which clients retry. Counted in KiB, so that the budget fits a semaphore's int.
 */
public final class BodyBudget {

    private final long bytes;
    private final Semaphore kib;

    /** @param bytes the budget; at least one KiB */
    public BodyBudget(long bytes) {
        if (bytes < 1024) {
            throw new IllegalArgumentException("llm.api.max-body-bytes-in-flight must be at least 1KiB, got " + bytes);
        }
        this.bytes = bytes;
        this.kib = new Semaphore((int) Math.min(Integer.MAX_VALUE, (bytes + 1023) / 1024));   // as take() counts
    }

    /**
     * A budget set in bytes, which must hold one largest body: a body sent without a Content-Length takes room for
     * {@code maxBodyBytes}, so under that it would be a 503 on an idle server, every time, for ever.
     */
    public static BodyBudget of(long bytes, long maxBodyBytes) {
        if (bytes < maxBodyBytes) {
            throw new IllegalArgumentException("llm.api.max-body-bytes-in-flight (" + bytes + " bytes) must be at least"
                    + " llm.api.max-body-bytes (" + maxBodyBytes + " bytes): a body of that size, or one sent chunked,"
                    + " could never be read");
        }
        return new BodyBudget(bytes);
    }

    /** The default budget: an eighth of the maximum heap, at least {@code maxBodyBytes}. */
    public static BodyBudget forHeap(long maxBodyBytes) {
        return new BodyBudget(Math.max(Math.max(maxBodyBytes, 1024), Runtime.getRuntime().maxMemory() / 8));
    }

    public long bytes() {
        return bytes;
    }

    /** Room for a body of up to {@code n} bytes: what gives it back (once), or null when the budget is spent. */
    Runnable take(long n) {
        int units = (int) Math.min(Integer.MAX_VALUE, Math.max(1, (n + 1023) / 1024));
        if (!kib.tryAcquire(units)) {
            return null;
        }
        AtomicBoolean given = new AtomicBoolean();
        return () -> {
            if (given.compareAndSet(false, true)) {
                kib.release(units);
            }
        };
    }
}
