package dev.llamaserve.engine.device;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.util.cuda.CudaUtils;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves the {@code device} option to a DJL {@link Device} and reports its memory, for the memory plan.
 *
 * <p>On a machine without an NVIDIA driver DJL logs "Failed to detect GPU count: CUDA driver version is
 * insufficient" (logger {@code ai.djl.util.cuda.CudaUtils}) while probing: harmless, the CPU is used.
 */
public final class DevicePlanner {

    private static final Logger log = LoggerFactory.getLogger(DevicePlanner.class);

    public enum Kind { CPU, CUDA }

    /**
     * @param kind CPU or CUDA
     * @param index CUDA ordinal, or -1 for the CPU
     * @param totalBytes device memory (CPU: host memory, capped by the cgroup limit)
     * @param freeBytes memory free now (CPU: MemAvailable, within the cgroup limit, less the heap still to grow)
     */
    public record DeviceInfo(Kind kind, int index, long totalBytes, long freeBytes) {
        public Device djlDevice() {
            return kind == Kind.CUDA ? Device.gpu(index) : Device.cpu();
        }

        /** Device string as TorchScript takes it: {@code cpu} or {@code cuda:N}. */
        public String torchDevice() {
            return kind == Kind.CUDA ? "cuda:" + index : "cpu";
        }

        @Override
        public String toString() {
            return (kind == Kind.CUDA ? "cuda:" + index : "cpu") + " (" + (totalBytes >> 20) + " MiB total, "
                    + (freeBytes >> 20) + " MiB free)";
        }
    }

    private DevicePlanner() {
    }

    private static final java.util.concurrent.atomic.AtomicBoolean EXPLAINED = new java.util.concurrent.atomic.AtomicBoolean();

    /** GPUs the loaded libtorch can use: 0 with the CPU build of libtorch or without a driver. */
    public static int gpuCount() {
        return engine().getGpuCount();
    }

    /** DJL's PyTorch engine, started (libtorch loaded) on the first call, after {@link #explainCudaProbe}. */
    public static Engine engine() {
        explainCudaProbe();
        return Engine.getEngine("PyTorch");
    }

    /**
     * Logs once, before DJL starts, that its CUDA probe warning is harmless without an NVIDIA driver
     * (silence it with {@code logging.level.ai.djl.util.cuda.CudaUtils=error}).
     */
    public static void explainCudaProbe() {
        if (EXPLAINED.compareAndSet(false, true)) {
            log.info("Starting DJL/libtorch. On a machine without an NVIDIA driver DJL warns 'Failed to detect GPU "
                    + "count: CUDA driver version is insufficient': harmless, the CPU is used");
        }
    }

    /** {@code auto}, {@code cpu} or {@code gpu:N} → the device, with its memory now. */
    public static DeviceInfo resolve(String option) {
        String opt = option == null ? "auto" : option.trim().toLowerCase(java.util.Locale.ROOT);
        if (opt.equals("cpu")) {
            return cpu();
        }
        int gpus = gpuCount();
        if (opt.equals("auto")) {
            if (gpus > 0) {
                return cuda(0);
            }
            log.info("device=auto: libtorch {} sees no CUDA GPU, using the CPU (any DJL 'Failed to detect GPU "
                    + "count' warning above is harmless here)", engine().getVersion());
            return cpu();
        }
        if (!opt.matches("gpu:\\d+")) {
            throw new IllegalArgumentException("device must be auto, cpu or gpu:N, was '" + option + "'");
        }
        int n = Integer.parseInt(opt.substring(4));
        if (n >= gpus) {
            throw new IllegalStateException("device " + opt + " requested but the loaded libtorch sees " + gpus
                    + " CUDA GPU(s). The class path carries the CPU build (pytorch-native-cpu); for CUDA install"
                    + " a CUDA libtorch 2.7.1 and set PYTORCH_LIBRARY_PATH=<its lib dir>, PYTORCH_VERSION=2.7.1,"
                    + " PYTORCH_FLAVOR=cu128 (and check the NVIDIA driver with nvidia-smi)");
        }
        return cuda(n);
    }

    private static DeviceInfo cuda(int n) {
        MemoryUsage mu = CudaUtils.getGpuMemory(Device.gpu(n));
        long total = mu.getMax();
        long used = mu.getCommitted();
        return new DeviceInfo(Kind.CUDA, n, total, Math.max(0, total - used));
    }

    /**
     * Host memory: MemTotal/MemAvailable from /proc/meminfo, capped by the cgroup v2/v1 limit, less the heap this
     * JVM may still grow into ({@link #lessHeapToGrow}).
     */
    public static DeviceInfo cpu() {
        long total = -1;
        long free = -1;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    total = kib(line);
                } else if (line.startsWith("MemAvailable:")) {
                    free = kib(line);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall back to the JVM's view below
        }
        if (total < 0 || free < 0) {
            var os = ManagementFactory.getOperatingSystemMXBean();
            if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
                total = sun.getTotalMemorySize();
                free = sun.getFreeMemorySize();
            }
        }
        long limit = cgroupLimit();
        if (limit > 0 && (total < 0 || limit < total)) {
            long used = cgroupUsage();
            total = limit;
            free = used >= 0 ? Math.min(free < 0 ? Long.MAX_VALUE : free, Math.max(0, limit - used)) : free;
        }
        Runtime rt = Runtime.getRuntime();
        return new DeviceInfo(Kind.CPU, -1, total, lessHeapToGrow(free, rt.maxMemory(), rt.totalMemory()));
    }

    /**
     * Free host memory as the weights and the KV pool may have it: what the heap has not committed yet but may
     * (up to -Xmx, MaxRAMPercentage) is not theirs. Counting it, a KV pool that filled the rest put the pod over its
     * memory limit once the heap grew (a 3.5 GiB pool and a 1 GiB heap in a 4 GiB container).
     */
    static long lessHeapToGrow(long free, long heapMax, long heapCommitted) {
        if (free < 0 || heapMax == Long.MAX_VALUE) {
            return free;
        }
        return Math.max(0, free - Math.max(0, heapMax - heapCommitted));
    }

    private static long kib(String meminfoLine) {
        String[] parts = meminfoLine.trim().split("\\s+");
        return Long.parseLong(parts[1]) * 1024;
    }

    private static long cgroupLimit() {
        for (String f : List.of("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")) {
            long v = readLong(f);
            if (v > 0 && v < (1L << 60)) {
                return v;
            }
        }
        return -1;
    }

    private static long cgroupUsage() {
        for (String f : List.of("/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory/memory.usage_in_bytes")) {
            long v = readLong(f);
            if (v >= 0) {
                return v;
            }
        }
        return -1;
    }

    private static long readLong(String file) {
        try {
            String s = Files.readString(Path.of(file)).trim();
            return s.equals("max") ? -1 : Long.parseLong(s);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
