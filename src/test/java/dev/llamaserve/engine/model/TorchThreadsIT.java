package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@link TorchThreads}: libtorch work run through it leaves no OpenMP team behind on the calling thread, where the
 * same work run directly does (libgomp's workers take the name of the thread that started their team, which is how
 * this test sees them in {@code /proc/self/task}).
 */
class TorchThreadsIT {

    @Test
    void aParallelKernelLeavesATeamOnItsThreadUnlessRunOnAnEndingThread() throws Exception {
        assumeTrue(Runtime.getRuntime().availableProcessors() > 1 && Files.isDirectory(Path.of("/proc/self/task")),
                "needs Linux and 2+ cores (libtorch then runs a sum over 64 MiB on 2+ OpenMP threads)");
        // control: run directly on a live thread, the sum leaves that thread's team (its workers) alive
        assertThat(tasksNamedWhileAlive("team-direct", () -> probe().run())).isGreaterThan(1);
        // through TorchThreads: the caller's name appears once (itself), the ending thread's workers are gone
        assertThat(tasksNamedWhileAlive("team-ending", () -> TorchThreads.onEndingThread("team-ending-torch", () -> {
            probe().run();
            return null;
        }))).isEqualTo(1);
        assertThat(waitUntilNone("team-ending-to")).as("the ending thread's workers exit with it").isZero();
    }

    @Test
    void returnsTheResultAndRethrowsWhatTheWorkThrew() {
        Thread caller = Thread.currentThread();
        AtomicReference<Thread> ran = new AtomicReference<>();
        assertThat(TorchThreads.onEndingThread("ending", () -> {
            ran.set(Thread.currentThread());
            return 42;
        })).isEqualTo(42);
        assertThat(ran.get()).isNotSameAs(caller);
        assertThat(ran.get().getName()).isEqualTo("ending");
        assertThat(ran.get().isAlive()).isFalse();
        assertThatThrownBy(() -> TorchThreads.onEndingThread("ending", () -> {
            throw new IllegalArgumentException("bad option");
        })).isInstanceOf(IllegalArgumentException.class).hasMessage("bad option");
        assertThatThrownBy(() -> TorchThreads.onEndingThread("ending", () -> {
            throw new OutOfMemoryError("native");
        })).isInstanceOf(OutOfMemoryError.class);
    }

    @Test
    void anInterruptDuringTheWaitIsKeptForTheCaller() throws Exception {
        AtomicReference<Object> seen = new AtomicReference<>();
        Thread caller = new Thread(() -> {
            Object r = TorchThreads.onEndingThread("ending", () -> {
                sleep(300);
                return "done";
            });
            seen.set(r + " interrupted=" + Thread.currentThread().isInterrupted());
        });
        caller.start();
        Thread.sleep(50);
        caller.interrupt();
        caller.join();
        assertThat(seen.get()).isEqualTo("done interrupted=true");
    }

    @Test
    void theModelLoadRunsOnAThreadThatHasEndedWhenLoadReturns() {
        List<Thread> threads = new ArrayList<>();
        try (LlamaModel m = LlamaModel.load(dev.llamaserve.engine.checkpoint.Checkpoint.open(TinyFixture.dir()),
                new ModelOptions("cpu", "float32", 64, 32), p -> threads.add(Thread.currentThread()))) {
            assertThat(m.kvSlots()).isEqualTo(64);
        }
        assertThat(threads).isNotEmpty().allSatisfy(t -> {
            assertThat(t).isNotSameAs(Thread.currentThread());
            assertThat(t.getName()).isEqualTo("llm-torch-load");
            assertThat(t.isAlive()).isFalse();
        });
    }

    private static Runnable probe() {
        return () -> {
            try (KernelProbe k = new KernelProbe()) {
                assertThat(k.readBandwidthGbs(64L << 20, 1)).isPositive();
            }
        };
    }

    /** Runs {@code work} on a thread named {@code name} and counts, before that thread ends, the tasks of that name. */
    private static int tasksNamedWhileAlive(String name, Runnable work) throws Exception {
        AtomicReference<Integer> count = new AtomicReference<>();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                work.run();
                Thread.sleep(200);   // let a worker that is about to exit do so
                count.set(tasksNamed(name, true));
            } catch (Throwable e) {
                failed.set(e);
            }
        }, name);
        t.start();
        t.join();
        if (failed.get() != null) {
            throw new AssertionError(failed.get());
        }
        return count.get();
    }

    private static int waitUntilNone(String prefix) throws Exception {
        int n = tasksNamed(prefix, false);
        for (int i = 0; i < 50 && n > 0; i++) {
            Thread.sleep(100);
            n = tasksNamed(prefix, false);
        }
        return n;
    }

    /** Tasks of this process whose name (Linux's 15-character {@code comm}) is, or starts with, {@code prefix}. */
    private static int tasksNamed(String prefix, boolean exactly) throws IOException {
        int n = 0;
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                try {
                    String comm = Files.readString(task.resolve("comm")).trim();
                    if (exactly ? comm.equals(prefix) : comm.startsWith(prefix)) {
                        n++;
                    }
                } catch (IOException gone) {
                    // the task ended while listing
                }
            }
        }
        return n;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
