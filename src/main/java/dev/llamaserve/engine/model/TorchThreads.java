package dev.llamaserve.engine.model;

import java.util.function.Supplier;

/**
 * Keeps libtorch's CPU parallelism to one OpenMP team: the engine thread's.
 *
 * <p>libtorch's CPU build runs its parallel regions on libgomp, which gives every thread that starts one a team of
 * its own (that thread plus {@code intra-op threads − 1} workers), kept for as long as that thread lives. While a
 * second team is alive, libgomp counts more managed threads than CPUs and throttles its spin-wait: a worker that
 * finishes a parallel region sleeps on a futex almost at once, and each of the hundreds of small regions of a
 * decode step pays a wake-up. Measured with the 1B bench shape on 2 cores (AMD EPYC Zen 4): a one-row decode step
 * took 71 ms on a thread whose process had no other team, and 102–112 ms on a thread while the thread that loaded
 * the model (and so ran libtorch's parallel conversions) was still alive; {@code OMP_WAIT_POLICY=ACTIVE}, which
 * makes the idle team spin, made it 147 ms. So work that runs libtorch outside the engine thread (loading) runs on
 * a thread of its own that ends when the work does: libgomp frees a team when its thread exits.
 */
public final class TorchThreads {

    private TorchThreads() {
    }

    /**
     * Runs {@code work} on a new thread named {@code name}, waits for it and returns its result (or throws what it
     * threw); that thread has ended, and with it its OpenMP team, when this returns. The wait is not interruptible
     * (libtorch work cannot be abandoned half-way); an interrupt that arrives meanwhile is kept for the caller.
     */
    public static <T> T onEndingThread(String name, Supplier<T> work) {
        Object[] result = new Object[1];
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(() -> {
            try {
                result[0] = work.get();
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, name);
        t.setDaemon(true);
        t.start();
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure[0] instanceof RuntimeException e) {
            throw e;
        }
        if (failure[0] instanceof Error e) {
            throw e;
        }
        if (failure[0] != null) {   // a checked exception thrown sneakily
            throw new IllegalStateException(failure[0]);
        }
        @SuppressWarnings("unchecked")
        T r = (T) result[0];
        return r;
    }
}
