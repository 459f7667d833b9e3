package dev.llamaserve.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/** The bench report: {@code bench.json} (keys as in README "Bench") and the table printed after a run. */
final class BenchReport {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private BenchReport() {
    }

    static void write(Map<String, Object> report, Path out) throws IOException {
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        Files.writeString(out, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report) + "\n");
    }

    /** Keys of {@link Bench#KEYS} that a report of a full run lacks (a {@code <key>_not_run} reason counts). */
    static List<String> missing(Map<String, Object> report) {
        List<String> out = new ArrayList<>();
        for (String k : Bench.KEYS) {
            if (!report.containsKey(k) && !report.containsKey(k + "_not_run")) {
                out.add(k);
            }
        }
        return out;
    }

    /** One line per key; ratios beside the figures they compare. */
    static String table(Map<String, Object> r) {
        StringBuilder s = new StringBuilder("\n== llama-serve bench ==\n");
        if (r.get("machine") instanceof Map<?, ?> m) {
            line(s, "machine", m.get("cpu_model") + ", " + m.get("cores") + " cores, " + m.get("flags"));
            if (m.get("settings") != null) {
                line(s, "settings", String.valueOf(m.get("settings")));
            }
        }
        line(s, "shape / dtype", r.get("shape") + " / " + r.get("dtype") + " (quantization " + r.get("quantization")
                + (Boolean.TRUE.equals(r.get("packed_weights")) ? ", packed weights" : "")
                + (r.get("native_isa") != null ? ", native kernels " + r.get("native_isa") : "") + ")");
        line(s, "weights", fmt(r.get("weight_bytes"), 1e-9, "GB") + ", loaded in " + fmt(r.get("load_s"), 1, "s"));
        line(s, "read bandwidth", fmt(r.get("bandwidth_gbs"), 1, "GB/s")
                + (r.get("bandwidth_probes_gbs") != null ? ", best of " + rounded(r.get("bandwidth_probes_gbs"), "%.2f") : ""));
        line(s, "GEMM peak (" + (r.get("gemm_peak_dtype") != null ? r.get("gemm_peak_dtype") : "this dtype") + ")",
                fmt(r.get("gemm_peak_gflops"), 1, "GFLOP/s")
                + (r.get("gemm_peak_probes_gflops") != null
                        ? ", best of " + rounded(r.get("gemm_peak_probes_gflops"), "%.1f") : "")
                + "  all: " + r.get("gemm_gflops_by_dtype"));
        line(s, "decode, 1 stream", fmt(r.get("decode_tok_s_1"), 1, "tok/s") + " of a limit of "
                + fmt(r.get("decode_limit_tok_s"), 1, "tok/s") + " = " + pct(r.get("decode_ratio")));
        if (r.get("decode_ratio_rounds") instanceof Map<?, ?> rounds) {
            line(s, "decode, 1 stream, in rounds", pct(rounds.get("median")) + " median of "
                    + listed(rounds.get("ratios"), "%.3f") + " (each against the bandwidth probed right before it: "
                    + listed(rounds.get("bandwidth_gbs"), "%.1f") + " GB/s)");
        }
        line(s, "aggregate decode (engine)", String.valueOf(rounded(r.get("aggregate_tok_s"))) + " tok/s; 16 streams = "
                + fmt(r.get("aggregate_16_over_1"), 1, "x") + " single"
                + (r.get("aggregate_16_ceiling_x") != null ? " (at most " + fmt(r.get("aggregate_16_ceiling_x"), 1, "x")
                + " with every 16-row step at the GEMM peak)" : ""));
        if (r.get("aggregate_16_over_1_rounds") instanceof Map<?, ?> turns) {
            line(s, "16 streams / 1, in turns", fmt(turns.get("median"), 1, "x") + " median of "
                    + listed(turns.get("ratios"), "%.2f") + " (16 streams against one, engine only, alternated)");
        }
        line(s, "aggregate decode (HTTP/SSE)", String.valueOf(rounded(r.get("http_aggregate_tok_s")))
                + " tok/s; 16 streams = " + pct(r.get("http_vs_engine_16")) + " of engine-only, "
                + pct(r.get("http_vs_engine_16_same_forward")) + " at the engine-only run's forward speed");
        if (r.get("http_vs_engine_16_rounds") instanceof Map<?, ?> turns) {
            line(s, "HTTP/SSE / engine, in turns", pct(turns.get("median")) + " median of "
                    + listed(turns.get("ratios"), "%.3f") + " (16 streams, the service's engine with and without HTTP)"
                    + (turns.get("jit_ms") instanceof Map<?, ?> jit ? "; JIT compiling " + jit.get("http")
                    + " ms during the HTTP runs, " + jit.get("engine") + " during the engine-only ones" : ""));
        } else if (r.get("http_vs_engine_16_rounds_not_run") != null) {
            line(s, "HTTP/SSE / engine, in turns", "not run: " + r.get("http_vs_engine_16_rounds_not_run"));
        }
        line(s, "TTFT by prompt tokens", rounded(r.get("ttft_ms")) + " ms");
        line(s, "prefill (512 tokens)", fmt(r.get("prefill_tok_s"), 1, "tok/s") + (r.get("prefill_ratio_not_run") != null
                ? " (no ratio: " + r.get("prefill_ratio_not_run") + ")"
                : " = " + pct(r.get("prefill_ratio")) + " of the GEMM peak"));
        line(s, "Java outside forward, 16 streams", fmt(r.get("java_overhead_pct"), 1, "%"));
        line(s, "TTFT, 2,048-token shared prefix", rounded(r.get("prefix_cache_ttft_ms")) + " ms");
        if (r.get("grammar_16") instanceof Map<?, ?> g) {
            line(s, "JSON schema, 16 streams", fmt(g.get("tok_s"), 1, "tok/s") + "; mask "
                    + fmt(g.get("mask_us_per_token_per_seq"), 1, "µs") + " per token per sequence = "
                    + pct(g.get("mask_fraction_of_step")) + " of the step");
        }
        if (r.get("int8") instanceof Map<?, ?> q) {
            line(s, "int8 / bf16, one-row step", rounded(q.get("decode_ms_1")) + " ms; bf16 time over int8 "
                    + rounded(q.get("decode_speedup_1"), "%.2f") + "; of each mode's limit " + rounded(q.get("decode_ratio_1"), "%.2f")
                    + " (bandwidth probed before each round, median " + fmt(q.get("round_bandwidth_gbs"), 1, "GB/s") + ")");
            line(s, "int8 / bf16, 16 rows and prefill", "16 rows " + rounded(q.get("decode_speedup_16"), "%.2f")
                    + ", 512-token chunk " + rounded(q.get("prefill_speedup_512"), "%.2f") + " (bf16 time over int8)");
        }
        if (r.get("quality") instanceof Map<?, ?> q) {
            line(s, "quality, against", q.get("reference") + " (" + q.get("rows") + " rows)");
            q.forEach((mode, v) -> {
                if (v instanceof Map<?, ?> m) {
                    line(s, "quality " + mode, QualityRuns.line(m));
                }
            });
        }
        line(s, "peak RSS", fmt(r.get("peak_rss_bytes"), 1e-9, "GB"));
        if (r.get("long_context") instanceof Map<?, ?> l) {
            line(s, l.get("prompt_tokens") + "-token prompt (" + (l.get("shape") != null ? l.get("shape") : "tiny") + " shape)",
                    fmt(l.get("prefill_s"), 1, "s") + " prefill, peak RSS "
                    + fmt(l.get("peak_rss_bytes"), 1e-9, "GB") + " (" + signed(l.get("peak_over_before_bytes"), 1e-9, "GB")
                    + " over before; KV " + fmt(l.get("kv_cache_bytes"), 1e-9, "GB") + ")");
        }
        if (r.get("soak") instanceof List<?> soak && !soak.isEmpty()) {
            line(s, "soak", soak.get(0) + " ... " + soak.get(soak.size() - 1));
        }
        if (r.get("targets") instanceof Map<?, ?> targets) {
            targets.forEach((name, t) -> {
                if (t instanceof Map<?, ?> m) {
                    line(s, "target " + name, target(String.valueOf(name), m));
                }
            });
        }
        line(s, "bench time", fmt(r.get("bench_s"), 1, "s"));
        return s.toString();
    }

    /** A target's value and bound (in MiB where its name ends in "_bytes"), met or not. */
    private static String target(String name, Map<?, ?> t) {
        if (!(t.get("value") instanceof Number v) || !(t.get("bound") instanceof Number b)) {
            return "-";
        }
        String value;
        String bound;
        if (name.endsWith("_bytes")) {
            value = String.format(Locale.ROOT, "%+.1f MiB", v.doubleValue() / (1 << 20));
            bound = String.format(Locale.ROOT, "%.0f MiB", b.doubleValue() / (1 << 20));
        } else {
            value = String.format(Locale.ROOT, "%.3f", v.doubleValue());
            bound = b.doubleValue() == Math.rint(b.doubleValue()) ? String.valueOf(b.longValue()) : String.valueOf(b);
        }
        return value + " (" + t.get("op") + " " + bound + "): "
                + (Boolean.TRUE.equals(t.get("met")) ? "met" : "NOT MET");
    }

    private static void line(StringBuilder s, String name, String value) {
        s.append(String.format(Locale.ROOT, "%-34s %s%n", name, value));
    }

    private static String fmt(Object v, double scale, String unit) {
        return v instanceof Number n ? String.format(Locale.ROOT, "%.2f %s", n.doubleValue() * scale, unit) : "-";
    }

    /** As {@link #fmt} with its sign always written, and no "-0.00" for what rounds to zero. */
    private static String signed(Object v, double scale, String unit) {
        if (!(v instanceof Number n)) {
            return "-";
        }
        double x = n.doubleValue() * scale;
        return String.format(Locale.ROOT, "%+.2f %s", Math.abs(x) < 0.005 ? 0.0 : x, unit);
    }

    private static String pct(Object v) {
        return v instanceof Number n ? String.format(Locale.ROOT, "%.0f %%", n.doubleValue() * 100) : "-";
    }

    /** A list of numbers, each in {@code format}; "-" for anything else. */
    private static Object listed(Object v, String format) {
        return v instanceof List<?> l ? l.stream().map(x -> x instanceof Number n ? String.format(Locale.ROOT, format,
                n.doubleValue()) : String.valueOf(x)).toList() : "-";
    }

    private static Object rounded(Object v) {
        return rounded(v, "%.1f");
    }

    private static Object rounded(Object v, String format) {
        if (!(v instanceof Map<?, ?> m)) {
            return "-";
        }
        StringBuilder s = new StringBuilder("{");
        m.forEach((k, x) -> s.append(s.length() > 1 ? ", " : "").append(k).append(": ")
                .append(x instanceof Number n ? String.format(Locale.ROOT, format, n.doubleValue()) : x));
        return s.append('}');
    }
}
