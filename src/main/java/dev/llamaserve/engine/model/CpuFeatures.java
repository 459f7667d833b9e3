package dev.llamaserve.engine.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/** What the CPU offers the step's kernels, from {@code /proc/cpuinfo} (Linux; elsewhere nothing is assumed). */
public final class CpuFeatures {

    private CpuFeatures() {
    }

    /** Whether the CPU has native bf16 dot products ({@code avx512_bf16} or {@code amx_bf16}). */
    public static boolean hasNativeBf16() {
        List<String> f = flags();
        return f.contains("avx512_bf16") || f.contains("amx_bf16");
    }

    /** Whether the CPU has AMX tiles for bf16 ({@code amx_bf16}), which oneDNN's GEMM uses for several rows. */
    public static boolean hasAmxBf16() {
        return flags().contains("amx_bf16");
    }

    /** The first {@code flags} line of {@code /proc/cpuinfo}; empty where it cannot be read. */
    public static List<String> flags() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("flags")).findFirst()
                    .map(l -> Arrays.asList(l.substring(l.indexOf(':') + 1).trim().split("\\s+")))
                    .orElse(List.of());
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }
}
