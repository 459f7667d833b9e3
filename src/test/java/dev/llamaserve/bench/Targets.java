package dev.llamaserve.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The performance targets (README "Bench"), each judged from the figures of the report it is written into:
 * {@code targets} in {@code bench.json}, one entry per target whose figure the run measured: {@code value},
 * {@code op} (">=" or "<="), {@code bound} and {@code met}. The bench reports them; no test asserts them (a target
 * depends on the machine).
 */
final class Targets {

    /** How far the second half of a soak's RSS may sit above the first half's highest (allocator and JIT noise). */
    static final long SOAK_RSS_SLACK_BYTES = 32L << 20;
    /** ... and its live heap after a GC (what the requests in flight hold at that moment). */
    static final long SOAK_HEAP_SLACK_BYTES = 16L << 20;
    /** Points a soak needs before it is judged: a first half after the warm-up, and a second half. */
    static final int SOAK_MIN_POINTS = 4;

    private Targets() {
    }

    /** One target: the figure at {@code key} (a nested key as "map.key"), at least or at most {@code bound}. */
    private record Target(String name, String key, boolean atLeast, double bound) {
    }

    private static final List<Target> TARGETS = List.of(
            new Target("decode_ratio", "decode_ratio", true, 0.90),
            new Target("decode_ratio_rounds_median", "decode_ratio_rounds.median", true, 0.90),
            new Target("prefill_ratio", "prefill_ratio", true, 0.50),
            new Target("aggregate_16_over_1", "aggregate_16_over_1", true, 10.0),
            new Target("aggregate_16_over_1_rounds_median", "aggregate_16_over_1_rounds.median", true, 10.0),
            new Target("http_vs_engine_16", "http_vs_engine_16", true, 0.97),
            new Target("http_vs_engine_16_rounds_median", "http_vs_engine_16_rounds.median", true, 0.97),
            new Target("java_overhead_pct", "java_overhead_pct", false, 5.0));

    /** The targets whose figures {@code r} holds, in the order above, then the prefix cache's and the soak's. */
    static Map<String, Object> of(Map<String, Object> r) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Target t : TARGETS) {
            Double v = at(r, t.key());
            if (v != null && !v.isNaN()) {
                out.put(t.name(), judged(v, t.atLeast(), t.bound()));
            }
        }
        Double cold = at(r, "prefix_cache_ttft_ms.cold");
        Double warm = at(r, "prefix_cache_ttft_ms.warm");
        if (cold != null && warm != null && cold > 0) {   // issue 11: a warm 2,048-token prefix under 15 % of cold
            out.put("prefix_cache_warm_over_cold", judged(warm / cold, false, 0.15));
        }
        Object soak = r.get("soak") instanceof List<?> s ? s : r.get("soak_engine");
        if (soak instanceof List<?> points && points.size() >= SOAK_MIN_POINTS) {
            soakTargets(points, out);
        }
        return out;
    }

    /**
     * No growth over the soak: the median of the second half of its points at most {@link #SOAK_RSS_SLACK_BYTES}
     * (RSS) and {@link #SOAK_HEAP_SLACK_BYTES} (live heap after a GC) above the highest of the first half, in which
     * the pool, the allocator and the JIT warm up. Memory that climbs to a bound in the first half and stays passes;
     * a leak keeps growing through the second half and fails (the median, not the last point: one point of this VM's
     * soaks sat 50 MiB above its neighbours).
     */
    private static void soakTargets(List<?> points, Map<String, Object> out) {
        List<?> first = points.subList(0, points.size() / 2);
        List<?> second = points.subList(points.size() / 2, points.size());
        for (String key : List.of("rss_bytes", "heap_after_gc_bytes")) {
            double max = first.stream().mapToDouble(p -> orZero(at(p, key))).max().orElse(0);
            if (max > 0) {
                double median = Bench.median(second.stream().mapToDouble(p -> orZero(at(p, key))).toArray());
                out.put("soak_" + key.replace("_bytes", "") + "_over_first_half_max_bytes", judged(median - max, false,
                        key.equals("rss_bytes") ? SOAK_RSS_SLACK_BYTES : SOAK_HEAP_SLACK_BYTES));
            }
        }
    }

    private static Map<String, Object> judged(double value, boolean atLeast, double bound) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("value", value);
        m.put("op", atLeast ? ">=" : "<=");
        m.put("bound", bound);
        m.put("met", atLeast ? value >= bound : value <= bound);
        return m;
    }

    /** The number at a key of a map, or of a map under it ("outer.inner"); null where absent or not a number. */
    private static Double at(Object map, String key) {
        int dot = key.indexOf('.');
        Object v = !(map instanceof Map<?, ?> m) ? null : dot < 0 ? m.get(key) : at(m.get(key.substring(0, dot)),
                key.substring(dot + 1));
        return v instanceof Number n ? n.doubleValue() : null;
    }

    private static double orZero(Double v) {
        return v == null ? 0 : v;
    }
}
