package dev.llamaserve.engine.device;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one reader of sizes in settings ({@code llm.engine.kv-cache-memory}, {@code llm.api.max-body-bytes}), so
 * that the same text means the same bytes everywhere: a number with an optional unit. Decimal units are powers of 1000
 * ({@code KB}, {@code MB}, {@code GB}, {@code TB}, or Kubernetes-style {@code K}, {@code M},
 * {@code G}, {@code T}); binary units are powers of 1024 ({@code KiB}, {@code MiB}, {@code GiB},
 * {@code TiB}, or {@code Ki}, {@code Mi}, {@code Gi}, {@code Ti}). Units are case-insensitive; no unit
 * or {@code B} means bytes, which must then be a whole number. Fractions of a unit are allowed
 * ({@code 1.5GB} = 1,500,000,000 bytes) and rounded down to whole bytes.
 */
public final class MemorySize {

    private static final Pattern SIZE = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)\\s*([a-z]*)");
    private static final Map<String, Long> UNITS = Map.ofEntries(
            Map.entry("", 1L), Map.entry("b", 1L),
            Map.entry("k", 1_000L), Map.entry("kb", 1_000L), Map.entry("ki", 1L << 10), Map.entry("kib", 1L << 10),
            Map.entry("m", 1_000_000L), Map.entry("mb", 1_000_000L), Map.entry("mi", 1L << 20),
            Map.entry("mib", 1L << 20),
            Map.entry("g", 1_000_000_000L), Map.entry("gb", 1_000_000_000L), Map.entry("gi", 1L << 30),
            Map.entry("gib", 1L << 30),
            Map.entry("t", 1_000_000_000_000L), Map.entry("tb", 1_000_000_000_000L), Map.entry("ti", 1L << 40),
            Map.entry("tib", 1L << 40));

    private MemorySize() {
    }

    /**
     * Bytes of {@code text}, e.g. {@code 8GiB}, {@code 512MiB}, {@code 1.5GB}, {@code 1073741824}.
     *
     * @param setting the setting's name, for the error message
     * @throws IllegalArgumentException naming the setting, the value and the accepted forms
     */
    public static long parseBytes(String text, String setting) {
        if (text == null || text.isBlank()) {
            throw invalid(setting, text, "it is empty");
        }
        Matcher m = SIZE.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches() || !UNITS.containsKey(m.group(2))) {
            throw invalid(setting, text, "it is not a size");
        }
        BigDecimal number = new BigDecimal(m.group(1));
        long unit = UNITS.get(m.group(2));
        if (unit == 1 && number.stripTrailingZeros().scale() > 0) {
            throw invalid(setting, text, "a number of bytes must be whole");
        }
        BigDecimal bytes = number.multiply(BigDecimal.valueOf(unit)).setScale(0, java.math.RoundingMode.FLOOR);
        if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw invalid(setting, text, "it is too large");
        }
        return bytes.longValueExact();
    }

    /** {@code bytes} for a person: binary units with two decimals, e.g. {@code 14.96 GiB}. */
    public static String format(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = bytes;
        int u = 0;
        while (Math.abs(v) >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.2f %s", v, units[u]);
    }

    private static IllegalArgumentException invalid(String setting, String text, String why) {
        return new IllegalArgumentException(setting + "='" + text + "' is not valid: " + why
                + "; use bytes (1073741824) or a number with a unit: KiB/MiB/GiB/TiB (powers of 1024, "
                + "also Ki/Mi/Gi/Ti) or KB/MB/GB/TB (powers of 1000, also K/M/G/T), e.g. 8GiB, 512MiB, 1.5GB");
    }
}
