package dev.llamaserve.api.openai;

import java.util.concurrent.Semaphore;

/**
 * The bytes of request bodies being read at once ({@code llm.api.max-body-bytes-in-flight}; by default an eighth of
 * the heap the JVM may grow to, at least one largest body). Without it, as many bodies of
 * {@code llm.api.max-body-bytes} as {@code llm.ops.max-concurrent-requests} admits (512 × 4 MiB) ended a pod's
 * 1 GiB heap with an OutOfMemoryError, and every stream on it. A body holds room for the bytes it has sent so far
 * ({@link Hold}), not for its declared Content-Length: a client that declares 4 MiB and sends nothing holds none. A
 * chunk that finds no room is a 503 {@code overloaded}, which clients retry. Counted in KiB, so that the budget fits a
 * semaphore's int.
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
     * A budget set in bytes, which must hold one largest body: under {@code maxBodyBytes}, a body of that size would be
     * a 503 on an idle server, every time, for ever.
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

    /** The room of one body, empty until its bytes arrive. */
    Hold hold() {
        return new Hold();
    }

    /**
     * The room one body holds: grown by each chunk as it arrives, given back whole (once) by {@link #close()}. A
     * body holds the KiB its bytes so far round up to, so small chunks are not each rounded up.
     */
    final class Hold {

        private long bytes;
        private int units;
        private boolean closed;

        /** The bytes taken room for so far. */
        synchronized long bytes() {
            return bytes;
        }

        /**
         * Room for {@code n} more bytes: false, taking nothing, when the budget has not that much left, or when the
         * hold was closed (its body ended).
         */
        synchronized boolean grow(long n) {
            if (closed) {
                return false;
            }
            long total = bytes + n;
            int more = (int) Math.min(Integer.MAX_VALUE, (total + 1023) / 1024) - units;
            if (more > 0 && !kib.tryAcquire(more)) {
                return false;
            }
            bytes = total;
            units += Math.max(0, more);
            return true;
        }

        /** Gives back all the room taken; later calls do nothing, and {@link #grow} then takes none. */
        synchronized void close() {
            if (!closed) {
                closed = true;
                kib.release(units);
                units = 0;
            }
        }
    }
}
