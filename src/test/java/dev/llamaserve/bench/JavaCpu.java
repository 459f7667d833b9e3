package dev.llamaserve.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.Map;

/**
 * CPU time of this JVM's threads other than the engine thread ({@code llm-engine}, which drives libtorch and
 * takes part in its parallel regions): event loops, codecs, delivery threads and the bench's own HTTP client. On a
 * machine whose cores libtorch's threads use for every step, this is what they lose to the serving path (and, in
 * the bench, to the client that a real deployment would run elsewhere). libtorch's worker threads are native and
 * not counted.
 */
final class JavaCpu {

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final Map<Long, Long> start = new HashMap<>();
    private final long wallStart = System.nanoTime();

    private JavaCpu() {
        for (ThreadInfo t : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (counted(t)) {
                start.put(t.getThreadId(), Math.max(0, THREADS.getThreadCpuTime(t.getThreadId())));
            }
        }
    }

    /** Starts counting now. */
    static JavaCpu start() {
        return new JavaCpu();
    }

    /** CPU time of the counted threads since {@link #start}, as a percentage of all cores' time over that wall time. */
    double pctOfMachine() {
        long cpu = 0;
        for (ThreadInfo t : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (counted(t)) {
                long now = THREADS.getThreadCpuTime(t.getThreadId());
                if (now >= 0) {
                    cpu += now - start.getOrDefault(t.getThreadId(), 0L);
                }
            }
        }
        double wall = System.nanoTime() - wallStart;
        return 100.0 * cpu / (wall * Runtime.getRuntime().availableProcessors());
    }

    private static boolean counted(ThreadInfo t) {
        return t != null && !t.getThreadName().equals("llm-engine");
    }
}
