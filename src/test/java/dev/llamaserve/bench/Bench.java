package dev.llamaserve.bench;

import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.core.EngineOptions;
import dev.llamaserve.engine.core.LlmEngine;
import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.model.ComputeDType;
import dev.llamaserve.engine.model.KernelProbe;
import dev.llamaserve.engine.model.LlamaModel;
import dev.llamaserve.engine.model.LoadListener;
import dev.llamaserve.engine.model.ModelConfig;
import dev.llamaserve.engine.model.ModelOptions;
import dev.llamaserve.engine.model.NativeKernels;
import dev.llamaserve.engine.model.ProcessMemory;
import dev.llamaserve.engine.model.Quantization;
import dev.llamaserve.engine.model.TorchThreads;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.DoubleSupplier;

/**
 * The bench: one command that measures the machine (read bandwidth, GEMM peak), the engine (single-stream
 * and aggregate decode, time to first token, prefix reuse, the engine's Java share of a step), the real HTTP
 * service with an SSE client, int8 weights against bf16 in one run (speed, and the quality of every 8-bit and fp8
 * mode against bf16 logits), a 32K-token prompt on the tiny shape (or {@code --long-shape 1b}), and
 * optionally a soak; prints a table and
 * writes {@code target/bench/bench.json}. Every speed is reported beside the machine's own limit measured in
 * the same run, so that runs on different machines compare as ratios. See README "Bench".
 *
 * <p>Run: {@code ./mvnw -q test-compile -Dbench} or {@code -Dbench="--shape tiny"} (profile {@code bench-command}).
 */
public final class Bench {

    static final int[] STREAMS = {1, 4, 8, 16, 32};
    static final int[] TTFT = {128, 512, 2048};
    static final int PREFIX = 2048;
    /**
     * The GEMM peak's probe, [rows, out, in]: the step's largest GEMM at a 512-token prefill chunk of the 1B shape
     * (gate_proj, [512, 2048] x [8192, 2048]^T).
     */
    private static final int[] GEMM_PROBE = {512, 8192, 2048};
    /** Rounds of {@link #inTurns}: HTTP/SSE and engine-only at 16 streams, in turns. */
    static final int HTTP_ROUNDS = 6;
    private static final Set<Integer> EOS = Set.of(128_001, 128_008, 128_009);

    /** Keys a full run (every section) must write: {@link BenchReportTest} and the bench test check them. */
    static final List<String> KEYS = List.of("machine", "shape", "dtype", "weight_bytes", "bandwidth_gbs",
            "decode_limit_tok_s", "decode_tok_s_1", "decode_ratio", "aggregate_tok_s", "http_aggregate_tok_s",
            "ttft_ms", "prefill_tok_s", "gemm_peak_gflops", "prefill_ratio", "java_overhead_pct",
            "prefix_cache_ttft_ms", "peak_rss_bytes", "load_s", "quality", "long_context");

    private Bench() {
    }

    public static void main(String[] args) throws Exception {
        BenchArgs a = BenchArgs.parse(args);
        Map<String, Object> report = run(a);
        BenchReport.write(report, a.out());
        System.out.println(BenchReport.table(report));
        System.out.println("bench: wrote " + a.out().toAbsolutePath());
        System.exit(0);   // DJL and the HTTP client leave non-daemon threads
    }

    static Map<String, Object> run(BenchArgs a) throws Exception {
        long started = System.nanoTime();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("machine", Machine.describe());
        r.put("shape", a.shape());
        r.put("dtype", a.dtype());
        r.put("quantization", a.quantization() == null ? "none" : a.quantization());
        r.put("packed_weights", a.packedWeights());
        r.put("sections", new ArrayList<>(BenchArgs.SECTIONS.stream().filter(a::runs).toList()));
        Path dir = BenchModelDir.ensure(a.shape());
        ComputeDType dtype = ComputeDType.parse(a.dtype());

        if (a.runs("kernels")) {
            // on a thread that ends with the probes, as the service loads its model: a live thread that ran libtorch's
            // parallel kernels keeps an OpenMP team that throttles the engine thread's (TorchThreads)
            TorchThreads.onEndingThread("bench-kernels", () -> {
                try (KernelProbe k = new KernelProbe()) {
                    r.put("bandwidth_gbs", withoutProbePeak(() -> k.readBandwidthGbs(1L << 30, 5)));
                    Map<String, Double> peaks = new LinkedHashMap<>();
                    for (ComputeDType d : ComputeDType.values()) {
                        peaks.put(d.optionName(), k.linearGflops(d, GEMM_PROBE[0], GEMM_PROBE[1], GEMM_PROBE[2], 5));
                    }
                    r.put("gemm_peak_gflops", peaks.get(dtype.optionName()));
                    r.put("gemm_gflops_by_dtype", peaks);
                }
                return null;
            });
        }
        if (a.runs("decode") || a.runs("ttft") || a.runs("prefix") || a.runs("soak-engine")) {
            engineSections(a, dir, r);
        }
        // the peak outside the bandwidth probes (withoutProbePeak), or VmHWM with them where it could not be reset
        r.put("peak_rss_bytes", Math.max(peakOutsideProbes, ProcessMemory.peakRssBytes()));
        if (peakIncludesProbes) {
            r.put("peak_rss_includes_probes", true);
        }
        if (a.runs("http")) {
            try (HttpRuns http = new HttpRuns(dir, serviceProperties(a), a.decodeTokens())) {
                TimedLm.Span[] span = new TimedLm.Span[1];
                Map<String, Double> agg = http.aggregate(STREAMS, 16, span);
                r.put("http_aggregate_tok_s", agg);
                Map<String, Object> httpSteps = steps(span[0], http.otherJavaCpuPct());
                r.put("http_steps_16", httpSteps);
                if (r.get("aggregate_tok_s") instanceof Map<?, ?> engine && engine.get("16") instanceof Double e16) {
                    r.put("http_vs_engine_16", agg.get("16") / e16);
                    if (r.get("engine_steps_16") instanceof Map<?, ?> engineSteps) {
                        r.put("http_vs_engine_16_same_forward", sameForwardRatio(agg.get("16"), e16, httpSteps,
                                engineSteps));
                    }
                }
                try {
                    r.put("http_vs_engine_16_rounds", inTurns(http, HTTP_ROUNDS));
                } catch (IllegalStateException e) {   // streams too short to overlap (DecodeWindow): the rest stands
                    r.put("http_vs_engine_16_rounds_not_run", e.getMessage());
                }
            }
        }
        if (a.runs("int8")) {
            Map<String, Object> q = QuantizedRuns.run(dir, a.dtype(), r.get("bandwidth_gbs") instanceof Double bw ? bw
                    : null);
            q.put("peak_rss_bytes", ProcessMemory.peakRssBytes());   // with the section's models: more than the engine's
            r.put("int8", q);
        }
        if (a.runs("quality")) {
            r.put("quality", QualityRuns.run(dir, a.dtype()));
        }
        if (a.runs("soak")) {
            r.put("soak", soak(a, dir));
        }
        if (a.runs("long")) {
            r.put("long_context", LongContext.run(BenchModelDir.ensure(a.longShape()), a.longShape(), a.dtype(),
                    a.longTokens()));
        }
        r.put("targets", Targets.of(r));
        r.put("bench_s", (System.nanoTime() - started) / 1e9);
        return r;
    }

    private static void engineSections(BenchArgs a, Path dir, Map<String, Object> r) {
        long t0 = System.nanoTime();
        long[] weightBytes = new long[1];
        // KV for 32 streams and for the TTFT and prefix prompts (a prefix cache keeps its blocks)
        int kvTokens = 16_384;
        LlamaModel model = LlamaModel.load(Checkpoint.open(dir), modelOptions(a, kvTokens, 2048), summary(weightBytes));
        r.put("load_s", (System.nanoTime() - t0) / 1e9);
        r.put("native_isa", model.nativeIsa().name()
                + (model.nativeAvx512fLinear() ? " (bf16 and int8 linears on AVX-512F)" : ""));
        ComputeDType peakDtype = gemmPeakDtype(ComputeDType.parse(a.dtype()), model.nativeIsa());
        r.put("gemm_peak_dtype", peakDtype.optionName());
        if (r.get("gemm_gflops_by_dtype") instanceof Map<?, ?> byDtype
                && byDtype.get(peakDtype.optionName()) instanceof Double peak) {
            r.put("gemm_peak_gflops", peak);
        }
        ModelConfig c = model.config();
        // what one decode step reads: the packed copy (llm.model.packed-weights) serves multi-row steps only
        long stepBytes = model.quantization().decodeReadBytes(c, model.dtype().bytes());
        r.put("weight_bytes", stepBytes);
        r.put("resident_weight_bytes", weightBytes[0]);
        TimedLm timed = new TimedLm(model);
        ModelInfo info = new ModelInfo(kvTokens, c.vocabSize(), EOS, 0.6, 0.9, false, null);
        EngineOptions options = EngineOptions.defaults().withMaxNumSeqs(32).withKvTokenBudget(kvTokens);
        try (LlmEngine e = LlmEngine.start(timed, LlamaTokenizer.load(dir), info, options)) {
            EngineRuns runs = new EngineRuns(e, timed, a.decodeTokens());
            runs.warmUp();
            if (a.runs("decode")) {
                // the read bandwidth probed again right before and after the single stream: this VM's moves by a third
                // within minutes, and the start's probe alone, taken in a slower phase, once put decode at 106 % of
                // its "limit"; the limit is the best of the probes, so that the ratio is never flattered by a slow one
                Map<String, Double> probes = new LinkedHashMap<>();
                if (r.get("bandwidth_gbs") instanceof Double start) {
                    probes.put("start", start);
                }
                probes.put("before_decode", probeBandwidth());
                TimedLm.Span[] single = new TimedLm.Span[1];
                double one = runs.singleStream(single);
                probes.put("after_decode", probeBandwidth());
                r.put("decode_tok_s_1", one);
                r.put("engine_steps_1", steps(single[0], null));
                double bw = java.util.Collections.max(probes.values());
                r.put("bandwidth_gbs", bw);
                r.put("bandwidth_probes_gbs", probes);
                double limit = bw * 1e9 / stepBytes;
                r.put("decode_limit_tok_s", limit);
                r.put("decode_ratio", one / limit);
                r.put("decode_ratio_rounds", decodeRounds(runs, stepBytes));
                TimedLm.Span[] span = new TimedLm.Span[1];
                Map<String, Double> agg = runs.aggregate(STREAMS, 16, span);
                r.put("aggregate_tok_s", agg);
                r.put("aggregate_16_over_1", agg.get("16") / one);
                // the same ratio with both rates measured in turns: the plain one divides by the single stream of
                // minutes before, and this VM's speed moves by a third within minutes (a run whose single stream fell
                // in a slow phase read 11.6x where its own 1-stream aggregate gave 8.1x)
                r.put("aggregate_16_over_1_rounds", inTurns("streams_1", () -> runs.rate(1), "streams_16",
                        () -> runs.rate(16), AGGREGATE_ROUNDS));
                putCeiling16(r, model.quantization(), a.dtype(), c, one);
                r.put("java_overhead_pct", span[0].outsidePct());
                r.put("java_overhead_steps", span[0].steps());
                Map<String, Object> steps16 = steps(span[0], runs.otherJavaCpuPct());
                steps16.put("minor_faults_per_step", runs.faultsPerStep());
                r.put("engine_steps_16", steps16);
            }
            if (a.runs("ttft")) {
                Map<String, Double> ttft = runs.ttft(TTFT);
                r.put("ttft_ms", ttft);
                double s512 = ttft.get("512") / 1e3;
                r.put("prefill_tok_s", 512 / s512);
                if (r.get("gemm_peak_gflops") instanceof Double start) {
                    // the GEMM peak probed again, right after the prefills, and the best of the two taken, as the
                    // bandwidth's: one start's probe, taken in a slow phase, read 224 GFLOP/s against 411-425 in the
                    // runs beside it, and put prefill at 142 % of the "peak"
                    Map<String, Double> peaks = new LinkedHashMap<>();
                    peaks.put("start", start);
                    peaks.put("after_prefill", probeGemm(peakDtype));
                    r.put("gemm_peak_gflops", java.util.Collections.max(peaks.values()));
                    r.put("gemm_peak_probes_gflops", peaks);
                    if (r.get("decode_tok_s_1") instanceof Double one) {   // the ceiling from the best peak too
                        putCeiling16(r, model.quantization(), a.dtype(), c, one);
                    }
                }
                if (model.quantization().int8Activations()) {   // as putCeiling16: not the peak of int8 GEMMs
                    r.put("prefill_ratio_not_run", "the linears multiply in int8 (" + model.quantization().optionName()
                            + "); the GEMM peak measured is " + a.dtype() + "'s");
                } else if (r.get("gemm_peak_gflops") instanceof Double peak) {
                    r.put("prefill_ratio", prefillFlops(c, 512) / s512 / 1e9 / peak);
                }
            }
            if (a.runs("prefix")) {
                r.put("prefix_cache_ttft_ms", runs.prefixCache(PREFIX));
            }
            if (a.runs("grammar")) {
                r.put("grammar_16", runs.grammar(16, e));
            }
            if (a.runs("soak-engine")) {
                // the same soak without HTTP (--only soak-engine --soak N): splits the serving path from the engine
                List<Map<String, Object>> points = new ArrayList<>();
                long soakStart = System.nanoTime();
                runs.soak(a.soak(), 16, 8, done -> points.add(memoryPoint(done, soakStart)));
                r.put("soak_engine", points);
            }
        }
    }

    /**
     * HTTP/SSE against engine-only at 16 streams on one model and engine, timed in turns: the service's engine driven
     * without HTTP ({@link HttpRuns#engineSide}) and through it, {@code rounds} times, the order swapped every round
     * so that a drift favours neither. The plain {@code http_vs_engine_16} sets runs minutes apart on two loads of
     * the model against each other, in a VM whose speed moves by a third within minutes. Per round tok/s both ways
     * and their ratio; {@code median}: the median ratio.
     */
    static Map<String, Object> inTurns(HttpRuns http, int rounds) {
        EngineRuns engine = http.engineSide();
        return inTurns(() -> engine.rate(16), () -> http.rate(16), rounds);
    }

    /** {@link #inTurns(HttpRuns, int)} over any two measurements (tok/s), engine-only first in even rounds. */
    static Map<String, Object> inTurns(DoubleSupplier engine, DoubleSupplier http, int rounds) {
        return inTurns("engine", engine, "http", http, rounds);
    }

    /** Rounds of {@code aggregate_16_over_1_rounds}. */
    static final int AGGREGATE_ROUNDS = 4;

    /**
     * Two measurements (tok/s) taken in turns, {@code rounds} times, {@code a} first in even rounds and second in odd
     * ones, so that a drift of this VM's speed favours neither: {@code <a>_tok_s}, {@code <b>_tok_s}, per round
     * {@code ratios} (b over a) and their {@code median}, and {@code jit_ms}: the JIT's compiling time during each.
     */
    static Map<String, Object> inTurns(String a, DoubleSupplier first, String b, DoubleSupplier second, int rounds) {
        List<Double> firsts = new ArrayList<>();
        List<Double> seconds = new ArrayList<>();
        List<Double> ratios = new ArrayList<>();
        // the JIT's compiling time during each side's runs (none where this JVM has no JIT, or does not time it)
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        if (jit != null && !jit.isCompilationTimeMonitoringSupported()) {
            jit = null;
        }
        long[] jitMs = new long[2];   // a, b
        for (int i = 0; i < rounds; i++) {
            double x;
            double y;
            if (i % 2 == 0) {
                x = jitTimed(jit, first, jitMs, 0);
                y = jitTimed(jit, second, jitMs, 1);
            } else {
                y = jitTimed(jit, second, jitMs, 1);
                x = jitTimed(jit, first, jitMs, 0);
            }
            firsts.add(x);
            seconds.add(y);
            ratios.add(y / x);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put(a + "_tok_s", firsts);
        out.put(b + "_tok_s", seconds);
        out.put("ratios", ratios);
        out.put("median", median(ratios.stream().mapToDouble(Double::doubleValue).toArray()));
        if (jit != null) {
            out.put("jit_ms", Map.of(a, jitMs[0], b, jitMs[1]));
        }
        return out;
    }

    /**
     * {@code run}'s tok/s; adds the JIT's compiling time during it (all compiler threads, ms) to {@code jitMs[i]}
     * where {@code jit} is given.
     */
    private static double jitTimed(CompilationMXBean jit, DoubleSupplier run, long[] jitMs, int i) {
        if (jit == null) {
            return run.getAsDouble();
        }
        long before = jit.getTotalCompilationTime();
        double tokS = run.getAsDouble();
        jitMs[i] += jit.getTotalCompilationTime() - before;
        return tokS;
    }

    /** The median of {@code v} (the mean of the middle two for an even count; NaN for none); sorts {@code v}. */
    static double median(double[] v) {
        java.util.Arrays.sort(v);
        int n = v.length;
        return n == 0 ? Double.NaN : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /** A step's share of its bandwidth limit: the time reading {@code bytes} at {@code gbs} takes, over {@code ms}. */
    static double ofLimit(long bytes, double gbs, double ms) {
        return bytes / (gbs * 1e9) / (ms / 1e3);
    }

    /** Rounds of {@link #decodeRounds}. */
    static final int DECODE_ROUNDS = 5;

    /**
     * Single-stream decode against the bandwidth probed right before it, {@link #DECODE_ROUNDS} times: this VM's
     * read bandwidth moves between about 33 and 67 GB/s within seconds, so that even the best of probes taken
     * before and after the decode (bandwidth_gbs) once put it at 113 % of its "limit", and at 47 % when a probe
     * caught a fast moment the decode missed. As the int8 section's rounds: a sum over one 512 MiB tensor (best of
     * 2, on a thread that ends with each probe: one OpenMP team) right before each stream; the median of the
     * rounds' ratios is {@code median}.
     */
    private static Map<String, Object> decodeRounds(EngineRuns runs, long stepBytes) {
        return withoutProbePeak(() -> {   // the probe's 512 MiB, held throughout
            double[] bandwidth = new double[DECODE_ROUNDS];
            double[] rate = new double[DECODE_ROUNDS];
            double[] ratio = new double[DECODE_ROUNDS];
            KernelProbe probe = TorchThreads.onEndingThread("bench-probe", KernelProbe::new);
            try (probe; KernelProbe.Reader reader = TorchThreads.onEndingThread("bench-probe",
                    () -> probe.reader(QuantizedRuns.ROUND_PROBE_BYTES))) {
                for (int i = 0; i < DECODE_ROUNDS; i++) {
                    bandwidth[i] = TorchThreads.onEndingThread("bench-probe", () -> reader.gbs(2));
                    rate[i] = runs.singleStream(new TimedLm.Span[1]);
                    ratio[i] = ofLimit(stepBytes, bandwidth[i], 1e3 / rate[i]);
                }
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("bandwidth_gbs", java.util.Arrays.stream(bandwidth).boxed().toList());
            r.put("decode_tok_s", java.util.Arrays.stream(rate).boxed().toList());
            r.put("ratios", java.util.Arrays.stream(ratio).boxed().toList());
            r.put("median", median(ratio));   // sorts ratio
            return r;
        });
    }

    /** The bench's read-bandwidth probe (a libtorch sum over 1 GiB, best of 3), on a thread that ends with it. */
    private static double probeBandwidth() {
        return withoutProbePeak(() -> probe(k -> k.readBandwidthGbs(1L << 30, 3)));
    }

    /**
     * The dtype whose GEMM peak prefill and the 16-stream ceiling are read against ({@code gemm_peak_dtype}): the
     * run's, but float32 where llama-serve's AVX2 kernels take bf16's linears (native kernels on AVX2, bf16 or int8
     * weights). They widen bf16, and int8 times its scales, to float32 and multiply-add in float32 (int8's prefill
     * through llama_step.py's mode 9), while libtorch's bf16 GEMM, which the bench probes for bf16, emulates bf16 on AVX2
     * at a third of float32's rate: against it an AVX2 run read prefill at 166 % of the "peak" and a 16-stream ceiling
     * of 0.98x (docs/measured.md). W8A8's int8 dot products (VNNI) against bf16's peak where AVX-512 BF16 is in use;
     * with AVX2 in use (an Ice Lake Xeon: VNNI without BF16) against float32's, the fastest GEMM libtorch has there.
     * float32 for float16 too, on every CPU: prefill chunks widen float16 weights to float32 for the GEMM (steps of
     * {@code llamaserve.cpuFp16UpcastRows} rows and more, llama_step.py's mode 1), against whose peak an AVX2 run read
     * prefill at 286 % of float16's. A 16-row step stays in float16: {@link #putCeiling16} reads it against float16's.
     */
    static ComputeDType gemmPeakDtype(ComputeDType dtype, NativeKernels.Isa isa) {
        boolean bf16InFloat32 = dtype == ComputeDType.BFLOAT16 && isa == NativeKernels.Isa.AVX2;
        return bf16InFloat32 || dtype == ComputeDType.FLOAT16 ? ComputeDType.FLOAT32 : dtype;
    }

    /** The bench's GEMM probe of the kernels section for {@code dtype} (best of 5), on a thread that ends with it. */
    private static double probeGemm(ComputeDType dtype) {
        return probe(k -> k.linearGflops(dtype, GEMM_PROBE[0], GEMM_PROBE[1], GEMM_PROBE[2], 5));
    }

    /** One measurement with a {@link KernelProbe} of its own, on a thread that ends with it (as the model's load). */
    private static double probe(java.util.function.ToDoubleFunction<KernelProbe> measure) {
        return TorchThreads.onEndingThread("bench-probe", () -> {
            try (KernelProbe k = new KernelProbe()) {
                return measure.applyAsDouble(k);
            }
        });
    }

    /** VmHWM before the last bandwidth probe, whose 1 GiB buffer is the bench's, not the service's. */
    private static long peakOutsideProbes = -1;
    /** VmHWM could not be reset after a probe: it holds the probe's gigabyte. */
    private static boolean peakIncludesProbes;

    /**
     * A bandwidth probe (a 1 GiB float tensor, freed at its end), or work that holds a probe's tensor throughout
     * ({@link #decodeRounds}), that does not count in {@code peak_rss_bytes}:
     * the peak so far is kept, and VmHWM is reset to the RSS after the probe. Where /proc/self/clear_refs may not
     * be written, the probe's gigabyte stays in the peak ({@code peak_rss_includes_probes}).
     */
    private static <T> T withoutProbePeak(java.util.function.Supplier<T> work) {
        peakOutsideProbes = Math.max(peakOutsideProbes, ProcessMemory.peakRssBytes());
        T result = work.get();
        peakIncludesProbes |= !ProcessMemory.resetPeak();
        return result;
    }

    /** FLOPs of a {@code t}-token prefill from an empty cache: every layer's linears, causal attention, one lm_head row. */
    static double prefillFlops(ModelConfig c, int t) {
        double d = c.headDim();
        double attention = 2.0 * c.numAttentionHeads() * d * t * (t + 1) / 2.0 * 2;   // QK^T and PV over the causal half
        return 2 * layerWeights(c) * t + c.numHiddenLayers() * attention + 2.0 * c.hiddenSize() * c.vocabSize();
    }

    /** The weights of every layer's seven projections, summed over the layers. */
    private static double layerWeights(ModelConfig c) {
        double h = c.hiddenSize();
        double d = c.headDim();
        return c.numHiddenLayers()
                * (h * d * (c.numAttentionHeads() * 2 + c.numKeyValueHeads() * 2) + 3 * h * c.intermediateSize());
    }

    /** The linears' FLOPs of one decoded token: every projection and lm_head once (attention's few aside). */
    static double decodeTokenFlops(ModelConfig c) {
        return 2 * layerWeights(c) + 2.0 * c.hiddenSize() * c.vocabSize();
    }

    /**
     * The most that 16 streams can decode over one stream's {@code oneTokS}, as a multiple of it, where every 16-row
     * step multiplied at the GEMM peak: a step's FLOPs grow with its rows while one stream's step only reads the
     * weights, so on a CPU whose memory is fast beside its arithmetic 16 streams cannot reach 16x, nor the 10x target
     * where this ceiling is below it.
     */
    static double ceiling16(double peakGflops, double tokenFlops, double oneTokS) {
        return Math.min(16, peakGflops * 1e9 / tokenFlops / oneTokS);
    }

    /**
     * {@code aggregate_16_ceiling_x} from the report's {@code gemm_peak_gflops}, or, where the linears multiply int8
     * by int8 (W8A8), {@code aggregate_16_ceiling_not_run}: the bench measures the dtype's GEMM peak, not int8's, and
     * the dtype's would put the ceiling below what the int8 steps reach. float16's 16-row steps multiply in float16
     * (below {@code llamaserve.cpuFp16UpcastRows}), where its prefill widens to float32 ({@link #gemmPeakDtype}):
     * their ceiling is read against float16's peak of {@code gemm_gflops_by_dtype}.
     */
    static void putCeiling16(Map<String, Object> r, Quantization q, String dtype, ModelConfig c, double oneTokS) {
        if (q.int8Activations()) {
            r.put("aggregate_16_ceiling_not_run", "the linears multiply in int8 (" + q.optionName()
                    + "); the GEMM peak measured is " + dtype + "'s");
            return;
        }
        Object peak = ComputeDType.parse(dtype) != ComputeDType.FLOAT16 ? r.get("gemm_peak_gflops")
                : r.get("gemm_gflops_by_dtype") instanceof Map<?, ?> byDtype ? byDtype.get(dtype) : null;
        if (peak instanceof Double p) {
            r.put("aggregate_16_ceiling_x", ceiling16(p, decodeTokenFlops(c), oneTokS));
        }
    }

    /**
     * HTTP soak: N short requests, 16 in flight; every 1,000: RSS, heap after a GC, the JVM's committed heap and
     * non-heap pools, and the RSS outside them (native).
     */
    private static List<Map<String, Object>> soak(BenchArgs a, Path dir) throws Exception {
        List<Map<String, Object>> points = new ArrayList<>();
        try (HttpRuns http = new HttpRuns(dir, serviceProperties(a), a.decodeTokens())) {
            long t0 = System.nanoTime();
            int[] done = {0};
            http.soak(a.soak(), 16, 8, () -> {
                done[0] += 1000;
                points.add(memoryPoint(done[0], t0));
            });
        }
        return points;
    }

    /** RSS, heap after a GC, the JVM's pools and direct memory, and the native rest, after {@code requests}. */
    private static Map<String, Object> memoryPoint(int requests, long t0) {
        long heapAfterGc = Machine.heapAfterGcBytes();   // first: the GC may release committed heap
        long rss = ProcessMemory.rssBytes();
        long heapCommitted = Machine.heapCommittedBytes();
        long nonHeapCommitted = Machine.nonHeapCommittedBytes();
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("requests", requests);
        p.put("s", (System.nanoTime() - t0) / 1e9);
        p.put("rss_bytes", rss);
        p.put("heap_after_gc_bytes", heapAfterGc);
        p.put("heap_committed_bytes", heapCommitted);
        p.put("non_heap_committed_bytes", nonHeapCommitted);
        p.put("jvm_direct_buffer_bytes", Machine.jvmDirectBufferBytes());
        p.put("netty_direct_bytes", Machine.nettyDirectBytes());
        // what the JVM's heap and pools do not account for: libtorch, glibc, the tokenizer, thread stacks
        p.put("rss_outside_jvm_pools_bytes", rss - heapCommitted - nonHeapCommitted);
        System.out.println("bench soak: " + p);
        return p;
    }

    /**
     * The forward passes inside the 16-stream decode window: how many, their mean rows, and per step the time
     * inside {@code forward} and the wall time (forward plus the engine's Java between them). Engine-only and
     * HTTP side by side say whether a gap between the two is in the step itself or around it; {@code otherJavaCpu}:
     * the CPU that the JVM's other threads took over the whole run ({@link JavaCpu}), % of all cores.
     */
    /**
     * HTTP/SSE aggregate over engine-only at one speed of the model: the HTTP run's tokens per second times its
     * forward time per step over the engine-only run's. This VM's speed moves between runs (the same forward pass
     * took 127 and 157 ms per 16-row step in one bench), which the plain ratio counts as the service's overhead;
     * this one keeps only what lies outside the forward passes (HTTP, SSE, the client, the engine's Java). NaN where
     * either run has no forward time.
     */
    static double sameForwardRatio(double httpTokS, double engineTokS, Map<?, ?> httpSteps, Map<?, ?> engineSteps) {
        if (!(httpSteps.get("forward_ms_per_step") instanceof Double h) || !(engineSteps.get("forward_ms_per_step")
                instanceof Double e) || h <= 0 || e <= 0) {
            return Double.NaN;
        }
        return httpTokS / engineTokS * h / e;
    }

    static Map<String, Object> steps(TimedLm.Span s, Double otherJavaCpu) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("steps", s.steps());
        m.put("mean_rows", s.meanTokens());
        m.put("forward_ms_per_step", s.steps() == 0 ? 0.0 : s.forwardNanos() / 1e6 / s.steps());
        m.put("wall_ms_per_step", s.steps() == 0 ? 0.0 : s.wallNanos() / 1e6 / s.steps());
        if (otherJavaCpu != null) {
            m.put("other_java_cpu_pct", otherJavaCpu);
        }
        return m;
    }

    /** The service's properties for this run: the dtype, the quantization passed through as is, packed weights. */
    static Map<String, String> serviceProperties(BenchArgs a) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("llm.model.dtype", a.dtype());
        if (a.quantization() != null) {
            p.put("llm.model.quantization", a.quantization());
        }
        if (a.packedWeights()) {
            p.put("llm.model.packed-weights", "true");
        }
        return p;
    }

    /**
     * The engine-only model options: the dtype, {@code --quantization} and {@code --packed-weights} (the HTTP runs
     * pass the same as {@code llm.model.quantization} and {@code llm.model.packed-weights}).
     */
    static ModelOptions modelOptions(BenchArgs a, int kvTokens, int maxChunk) {
        return new ModelOptions("cpu", a.dtype(), kvTokens, maxChunk,
                Quantization.parse(a.quantization() == null ? "none" : a.quantization())).withPackedWeights(a.packedWeights());
    }

    static LoadListener summary(long[] weightBytes) {
        return new LoadListener() {
            @Override
            public void progress(Progress p) {
            }

            @Override
            public void loaded(Summary s) {
                weightBytes[0] = s.weightBytes();
            }
        };
    }
}
