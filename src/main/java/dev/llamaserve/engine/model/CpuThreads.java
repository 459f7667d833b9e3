package dev.llamaserve.engine.model;

import ai.djl.pytorch.jni.JniUtils;
import dev.llamaserve.engine.device.DevicePlanner;
import java.util.Locale;

/**
 * {@code llm.model.cpu-threads}: how many threads libtorch's CPU kernels use (its intra-op threads, one OpenMP
 * team). libtorch's own default is the machine's core count, which ignores a container's CPU limit: a pod limited
 * to 4 CPUs on a 64-core node would run 32–64 threads, which the kernel's CPU quota then stops and restarts all
 * through every step (and libgomp's spinning workers burn the quota while they wait). {@code auto} takes the
 * JVM's {@link Runtime#availableProcessors()} (which follows the cgroup CPU limit and the affinity mask), capped
 * at libtorch's default (which leaves out SMT siblings); a number sets it outright.
 */
public final class CpuThreads {

    public static final String PROPERTY = "llm.model.cpu-threads";

    private CpuThreads() {
    }

    /**
     * The thread count for {@code setting}: {@code auto} (or empty) is {@code min(jvmProcessors, torchDefault)}, at
     * least 1; else a positive integer.
     *
     * @throws IllegalArgumentException naming the property, the allowed values and the value given
     */
    public static int resolve(String setting, int jvmProcessors, int torchDefault) {
        String s = setting == null ? "" : setting.trim().toLowerCase(Locale.ROOT);
        if (s.isEmpty() || s.equals("auto")) {
            return Math.max(1, Math.min(jvmProcessors, torchDefault > 0 ? torchDefault : jvmProcessors));
        }
        try {
            int n = Integer.parseInt(s);
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // refused below
        }
        throw new IllegalArgumentException(PROPERTY + " must be auto or a positive number of threads, was '"
                + setting + "'");
    }

    /**
     * Resolves {@code setting} on this machine and sets libtorch's intra-op threads to it (process-wide; before the
     * model loads, so that every thread that later runs libtorch starts its team at that size).
     *
     * @return what was chosen and from what, for the startup log
     */
    public static Choice apply(String setting) {
        DevicePlanner.engine();   // loads libtorch, which applies -Dai.djl.pytorch.num_threads if given
        int torchDefault = JniUtils.getNumThreads();
        int jvm = Runtime.getRuntime().availableProcessors();
        int n = resolve(setting, jvm, torchDefault);
        if (n != torchDefault) {
            JniUtils.setNumThreads(n);
        }
        return new Choice(n, jvm, torchDefault, setting == null || setting.isBlank() ? "auto" : setting.trim());
    }

    /** The threads chosen, the JVM's available processors and libtorch's count before, and the setting. */
    public record Choice(int threads, int jvmProcessors, int torchBefore, String setting) {
        @Override
        public String toString() {
            return "libtorch CPU threads " + threads + " (" + PROPERTY + "=" + setting + "; the JVM sees "
                    + jvmProcessors + " processors, libtorch's default was " + torchBefore + ")";
        }
    }
}
