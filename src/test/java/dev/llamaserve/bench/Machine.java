package dev.llamaserve.bench;

import dev.llamaserve.engine.model.CpuFeatures;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * What the bench ran on (from {@code /proc/cpuinfo}) and the JVM's heap; the process's RSS and page faults come from
 * {@link dev.llamaserve.engine.model.ProcessMemory}.
 */
final class Machine {

    /** The {@code /proc/cpuinfo} flags that decide which CPU kernels libtorch/oneDNN can use. */
    static final List<String> FLAGS = List.of("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
            "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "avx_vnni");

    private Machine() {
    }

    /** {@code cpu_model}, {@code cores} (logical CPUs this JVM may use), {@code flags} present, {@code os}. */
    static Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        String model = "unknown";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    model = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException e) {
            model = "unknown (" + e.getMessage() + ")";
        }
        List<String> present = CpuFeatures.flags();
        List<String> flags = FLAGS.stream().filter(present::contains).toList();
        m.put("cpu_model", model);
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("flags", flags);
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        m.put("java", System.getProperty("java.version"));
        m.put("torch_threads", System.getProperty("ai.djl.pytorch.num_threads", "libtorch default"));
        Map<String, String> settings = settings(System.getProperties(), System.getenv());
        if (!settings.isEmpty()) {
            m.put("settings", settings);
        }
        return m;
    }

    /** The environment variables that choose the kernels of libtorch, oneDNN and OpenMP, where set. */
    static final List<String> ENV = List.of("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA",
            "OMP_NUM_THREADS", "OMP_WAIT_POLICY");

    /**
     * What this run was told beyond the defaults: every {@code llamaserve.*} system property (A/B switches such as
     * {@code -Dllamaserve.nativeIsa=avx2}) and {@link #ENV}, sorted by name, so that a report says which path it
     * measured.
     */
    static Map<String, String> settings(Properties properties, Map<String, String> env) {
        Map<String, String> out = new TreeMap<>();
        for (String name : properties.stringPropertyNames()) {
            if (name.startsWith("llamaserve.")) {
                out.put("-D" + name, properties.getProperty(name));
            }
        }
        for (String name : ENV) {
            if (env.get(name) != null) {
                out.put(name, env.get(name));
            }
        }
        return out;
    }

    /** Heap in use after a full GC, bytes. */
    static long heapAfterGcBytes() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** The JVM's committed heap: what of the RSS the heap may account for. */
    static long heapCommittedBytes() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted();
    }

    /** The JVM's committed non-heap pools (metaspace, code cache, ...). */
    static long nonHeapCommittedBytes() {
        return ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage().getCommitted();
    }

    /** Bytes of the JVM's direct {@code ByteBuffer}s (DJL copies Java arrays to native through them). */
    static long jvmDirectBufferBytes() {
        return ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).mapToLong(java.lang.management.BufferPoolMXBean::getMemoryUsed)
                .sum();
    }

    /** Direct memory Netty allocated through its own counter (its allocators' buffers), -1 when not counted. */
    static long nettyDirectBytes() {
        try {
            return io.netty.util.internal.PlatformDependent.usedDirectMemory();
        } catch (RuntimeException | LinkageError e) {
            return -1;
        }
    }
}
