package dev.llamaserve.engine.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's resident memory from Linux's {@code /proc/self/status} and its page faults from
 * {@code /proc/self/stat}, for memory tests and the bench.
 */
public final class ProcessMemory {

    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcessMemory() {
    }

    /** Whether {@code /proc/self/status} can be read (Linux): where not, every reading below is -1. */
    public static boolean available() {
        return Files.isReadable(STATUS);
    }

    /** Current resident set size (VmRSS), bytes; -1 where /proc is missing. */
    public static long rssBytes() {
        return status("VmRSS:");
    }

    /**
     * Resident anonymous memory (RssAnon), bytes; -1 where /proc is missing: what a tensor's pages add, without the
     * file-backed pages (libraries) that the kernel may drop and read back at any time.
     */
    public static long anonBytes() {
        return status("RssAnon:");
    }

    /** Peak resident set size (VmHWM), bytes; -1 where /proc is missing. */
    public static long peakRssBytes() {
        return status("VmHWM:");
    }

    /** Resets VmHWM to the current RSS (Linux ≥ 4.0), so that a later peak is a section's own; false when not allowed. */
    public static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Minor page faults so far (field 10 of {@code /proc/self/stat}): each first write to a page of fresh memory is
     * one; -1 where /proc is missing.
     */
    public static long minorFaults() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // "pid (comm) state ppid ...": the fields after the command's closing parenthesis, minflt the 8th of them
            return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[7]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static long status(String key) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(key)) {   // "VmRSS:   123456 kB"
                    return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
