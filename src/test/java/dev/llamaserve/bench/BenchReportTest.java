package dev.llamaserve.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.llamaserve.engine.model.BenchCheckpoint;
import dev.llamaserve.engine.model.ComputeDType;
import dev.llamaserve.engine.model.ModelConfig;
import dev.llamaserve.engine.model.ModelConfigParser;
import dev.llamaserve.engine.model.NativeKernels;
import dev.llamaserve.engine.model.Quantization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The bench's command line, its FLOP count and its report writer (no model: the bench itself is tagged "bench"). */
class BenchReportTest {

    @TempDir
    Path tmp;

    @Test
    void parsesTheCommandLine() {
        BenchArgs d = BenchArgs.parse("true");   // ./mvnw test-compile -Dbench
        assertThat(d.shape()).isEqualTo("1b");
        assertThat(d.dtype()).isEqualTo("bfloat16");
        assertThat(d.sections()).containsExactlyInAnyOrderElementsOf(BenchArgs.SECTIONS);
        assertThat(d.out()).isEqualTo(Path.of("target", "bench", "bench.json"));
        assertThat(d.longTokens()).isEqualTo(32_768);
        assertThat(d.longShape()).isEqualTo("tiny");
        assertThat(BenchArgs.parse("--long-shape", "1b", "--long-tokens", "8192").longShape()).isEqualTo("1b");
        assertThatThrownBy(() -> BenchArgs.parse("--long-shape", "8b"))
                .hasMessageContaining("--long-shape must be tiny or 1b");

        BenchArgs a = BenchArgs.parse("--shape", "tiny", "--dtype", "fp16", "--only", "decode,http", "--soak", "10000",
                "--quantization", "int8", "--packed-weights", "true");
        assertThat(a.dtype()).isEqualTo("float16");
        assertThat(a.sections()).containsExactlyInAnyOrder("decode", "http", "soak");
        assertThat(a.soak()).isEqualTo(10_000);
        assertThat(Bench.serviceProperties(a)).containsEntry("llm.model.quantization", "int8")
                .containsEntry("llm.model.dtype", "float16").containsEntry("llm.model.packed-weights", "true");
        assertThat(Bench.modelOptions(a, 64, 16).packedWeights()).isTrue();
        assertThat(Bench.serviceProperties(d)).doesNotContainKey("llm.model.packed-weights");
        assertThatThrownBy(() -> BenchArgs.parse("--packed-weights", "yes")).hasMessageContaining("--packed-weights");

        assertThatThrownBy(() -> BenchArgs.parse("--only", "decode,warp")).hasMessageContaining("warp");
        assertThatThrownBy(() -> BenchArgs.parse("--dtype", "int4")).hasMessageContaining("--dtype");
        assertThat(BenchArgs.parse("--shape", "8b", "--only", "int8").shape()).isEqualTo("8b");
        assertThatThrownBy(() -> BenchArgs.parse("--shape", "70b")).hasMessageContaining("--shape");
        assertThatThrownBy(() -> BenchArgs.parse("--frobnicate", "1")).hasMessageContaining("unknown option");
    }

    @Test
    void theReportSaysWhichPathItMeasured() {
        Properties p = new Properties();
        p.setProperty("llamaserve.nativeIsa", "avx2");
        p.setProperty("llamaserve.cpuBf16OneDnnSingleRow", "false");
        p.setProperty("java.version", "17");   // not a llamaserve switch
        Map<String, String> env = Map.of("ONEDNN_MAX_CPU_ISA", "AVX2", "ATEN_CPU_CAPABILITY", "avx2", "HOME", "/root");
        Map<String, String> settings = Machine.settings(p, env);
        assertThat(settings).containsExactly(Map.entry("-Dllamaserve.cpuBf16OneDnnSingleRow", "false"),
                Map.entry("-Dllamaserve.nativeIsa", "avx2"), Map.entry("ATEN_CPU_CAPABILITY", "avx2"),
                Map.entry("ONEDNN_MAX_CPU_ISA", "AVX2"));
        assertThat(Machine.settings(new Properties(), Map.of("HOME", "/root"))).isEmpty();

        Map<String, Object> r = new LinkedHashMap<>();
        Map<String, Object> machine = new LinkedHashMap<>(Map.of("cpu_model", "AMD EPYC", "cores", 2,
                "flags", List.of("avx2", "avx512_bf16")));
        r.put("machine", machine);
        r.put("shape", "1b");
        r.put("dtype", "bfloat16");
        r.put("quantization", "none");
        assertThat(BenchReport.table(r)).doesNotContain("settings").contains("(quantization none)");
        machine.put("settings", settings);
        r.put("native_isa", "AVX2");
        assertThat(BenchReport.table(r)).contains("settings                           {-Dllamaserve.cpuBf16OneDnnSingleRow"
                + "=false, -Dllamaserve.nativeIsa=avx2, ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2}")
                .contains("(quantization none, native kernels AVX2)");
        r.put("gemm_peak_dtype", "float32");
        r.put("gemm_peak_gflops", 162.3);
        assertThat(BenchReport.table(r)).contains("GEMM peak (float32)").contains("162.30 GFLOP/s");
    }

    /**
     * AVX2's kernels multiply bf16 and int8 weights in float32, and float16's prefill widens to float32 on every CPU:
     * there prefill is read against float32's GEMM peak (whatever the quantization: W8A8's VNNI products too, as
     * libtorch's bf16 GEMM emulates bf16 there), elsewhere (AVX-512 BF16, bf16 without native kernels) against the
     * run's dtype's.
     */
    @ParameterizedTest(name = "{0} on {1}: {2}")
    @CsvSource({
        "BFLOAT16, AVX2, FLOAT32",
        "BFLOAT16, AVX512_BF16, BFLOAT16",
        "BFLOAT16, NONE, BFLOAT16",
        "FLOAT16, NONE, FLOAT32",
        "FLOAT16, AVX2, FLOAT32",
        "FLOAT32, NONE, FLOAT32",
    })
    void theGemmPeakIsFloat32sWhereTheStepsMultiplyInFloat32(ComputeDType dtype, NativeKernels.Isa isa,
                                                              ComputeDType peak) {
        assertThat(Bench.gemmPeakDtype(dtype, isa)).isEqualTo(peak);
    }

    @Test
    void httpOverEngineAtOneForwardSpeedKeepsOnlyTheTimeOutsideTheForwardPasses() {
        Map<String, Object> engine = Map.of("forward_ms_per_step", 126.75);
        // the HTTP run's forward passes 24 % slower and its tokens per second as much lower: no overhead of its own
        assertThat(Bench.sameForwardRatio(121.0 / 1.24, 121.0, Map.of("forward_ms_per_step", 126.75 * 1.24), engine))
                .isCloseTo(1.0, within(1e-9));
        // at the same forward speed, the plain ratio
        assertThat(Bench.sameForwardRatio(96.6, 121.0, Map.of("forward_ms_per_step", 126.75), engine))
                .isCloseTo(96.6 / 121.0, within(1e-9));
        assertThat(Bench.sameForwardRatio(96.6, 121.0, Map.of("forward_ms_per_step", 0.0), engine)).isNaN();
    }

    @Test
    void httpAndEngineTakeTurnsTheOrderSwappedEveryRound() {
        List<String> order = new ArrayList<>();
        double[] engine = {100, 110, 90, 100};
        double[] http = {95, 99, 90, 97};
        int[] n = new int[2];
        Map<String, Object> t = Bench.inTurns(() -> {
            order.add("engine");
            return engine[n[0]++];
        }, () -> {
            order.add("http");
            return http[n[1]++];
        }, 4);
        assertThat(order).containsExactly("engine", "http", "http", "engine", "engine", "http", "http", "engine");
        assertThat(t.get("engine_tok_s")).isEqualTo(List.of(100.0, 110.0, 90.0, 100.0));
        assertThat(t.get("ratios")).isEqualTo(List.of(0.95, 0.9, 1.0, 0.97));
        assertThat((double) t.get("median")).isCloseTo((0.95 + 0.97) / 2, within(1e-12));
        assertThat(Bench.median(new double[] {3, 1, 2})).isEqualTo(2.0);
        assertThat(Bench.median(new double[0])).isNaN();
        // the JIT's compiling time during each side's runs (this JVM's compiler, so any count of ms from 0 up)
        @SuppressWarnings("unchecked")
        Map<String, Long> jit = (Map<String, Long>) t.get("jit_ms");
        assertThat(jit).containsOnlyKeys("engine", "http");
        assertThat(jit.values()).allSatisfy(ms -> assertThat(ms).isNotNegative());
        Map<String, Object> r = new LinkedHashMap<>();
        t.put("jit_ms", Map.of("engine", 12L, "http", 345L));
        r.put("http_vs_engine_16_rounds", t);
        assertThat(BenchReport.table(r)).contains("HTTP/SSE / engine, in turns        96 % median of [0.950, 0.900,"
                + " 1.000, 0.970] (16 streams, the service's engine with and without HTTP); JIT compiling 345 ms"
                + " during the HTTP runs, 12 during the engine-only ones");
        r.remove("http_vs_engine_16_rounds");
        r.put("http_vs_engine_16_rounds_not_run", "no moment when every stream was decoding");
        assertThat(BenchReport.table(r)).contains("HTTP/SSE / engine, in turns        not run: no moment when every"
                + " stream was decoding");
    }

    /** 16 streams against one, in turns: each side named, the order swapped every round, the table's line. */
    @Test
    void sixteenStreamsAgainstOneInTurns() {
        List<String> order = new ArrayList<>();
        double[] one = {20, 25};
        double[] sixteen = {150, 160};
        int[] n = new int[2];
        Map<String, Object> t = Bench.inTurns("streams_1", () -> {
            order.add("1");
            return one[n[0]++];
        }, "streams_16", () -> {
            order.add("16");
            return sixteen[n[1]++];
        }, 2);
        assertThat(order).containsExactly("1", "16", "16", "1");
        assertThat(t).containsKeys("streams_1_tok_s", "streams_16_tok_s", "ratios", "median");
        assertThat(t.get("ratios")).isEqualTo(List.of(7.5, 6.4));
        assertThat((double) t.get("median")).isCloseTo(6.95, within(1e-12));
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("aggregate_16_over_1_rounds", t);
        assertThat(BenchReport.table(r)).contains("16 streams / 1, in turns           6.95 x median of [7.50, 6.40]"
                + " (16 streams against one, engine only, alternated)");
    }

    @Test
    void singleStreamRoundsPrintEachRatioAndItsProbe() {
        Map<String, Object> rounds = new LinkedHashMap<>();
        rounds.put("bandwidth_gbs", List.of(35.04, 64.96));
        rounds.put("ratios", List.of(0.9012, 0.8));
        rounds.put("median", 0.8506);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("decode_ratio_rounds", rounds);
        assertThat(BenchReport.table(r)).contains("decode, 1 stream, in rounds        85 % median of [0.901, 0.800]"
                + " (each against the bandwidth probed right before it: [35.0, 65.0] GB/s)");
    }

    @Test
    void prefillFlopsOfTheOneBShape() throws Exception {
        ModelConfig c = oneB();
        // per layer: q, o 2048x2048; k, v 2048x512; gate, up, down 2048x8192 = 60,817,408 weights
        double linears = 16 * 2.0 * 60_817_408 * 512;
        double attention = 16 * 2.0 * 32 * 64 * 512 * 513;
        double lmHead = 2.0 * 2048 * 128_256;
        assertThat(Bench.prefillFlops(c, 512)).isEqualTo(linears + attention + lmHead);
        assertThat(Bench.decodeTokenFlops(c)).isEqualTo(linears / 512 + lmHead);
        // a Zen 4's run: GEMM peak 420.9 GFLOP/s, one stream at 17.26 tok/s -> 16 streams can reach 9.87x at most
        double flops = Bench.decodeTokenFlops(c);
        assertThat(Bench.ceiling16(420.9, flops, 17.26)).isCloseTo(420.9e9 / flops / 17.26, within(1e-9))
                .isCloseTo(9.87, within(0.01));
        assertThat(Bench.ceiling16(1639, flops, 10.49)).isEqualTo(16.0);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("aggregate_tok_s", Map.of("16", 100.4));
        r.put("aggregate_16_over_1", 5.82);
        r.put("aggregate_16_ceiling_x", 9.87);
        assertThat(BenchReport.table(r)).contains("16 streams = 5.82 x single (at most 9.87 x with every 16-row step at"
                + " the GEMM peak)");
    }

    @Test
    void theSixteenStreamCeilingOnlyWhereTheLinearsMultiplyInTheMeasuredDtype() throws Exception {
        ModelConfig c = oneB();
        for (Quantization q : new Quantization[] {Quantization.NONE, Quantization.INT8, Quantization.INT8_LM_HEAD}) {
            Map<String, Object> r = new LinkedHashMap<>(Map.of("gemm_peak_gflops", 420.9));
            Bench.putCeiling16(r, q, "bfloat16", c, 17.26);
            assertThat(r).as(q.optionName())
                    .containsEntry("aggregate_16_ceiling_x", Bench.ceiling16(420.9, Bench.decodeTokenFlops(c), 17.26))
                    .doesNotContainKey("aggregate_16_ceiling_not_run");
        }
        // a Zen 4's W8A8 run: 16 streams at 8.26x one, above the 7.84x that the bf16 peak would have put as the most
        for (Quantization q : new Quantization[] {Quantization.W8A8, Quantization.W8A8_LM_HEAD}) {
            Map<String, Object> r = new LinkedHashMap<>(Map.of("gemm_peak_gflops", 436.99));
            Bench.putCeiling16(r, q, "bfloat16", c, 22.56);
            assertThat(r).as(q.optionName()).doesNotContainKey("aggregate_16_ceiling_x")
                    .containsEntry("aggregate_16_ceiling_not_run", "the linears multiply in int8 (" + q.optionName()
                            + "); the GEMM peak measured is bfloat16's");
        }
        Map<String, Object> none = new LinkedHashMap<>();
        Bench.putCeiling16(none, Quantization.NONE, "bfloat16", c, 17.26);
        assertThat(none).as("no GEMM peak measured").isEmpty();
        // float16: prefill against float32's peak (gemm_peak_gflops), 16-row steps against float16's own
        Map<String, Object> fp16 = new LinkedHashMap<>(Map.of("gemm_peak_gflops", 164.2,
                "gemm_gflops_by_dtype", Map.of("float32", 164.2, "float16", 47.6, "bfloat16", 48.8)));
        Bench.putCeiling16(fp16, Quantization.NONE, "float16", c, 14.3);
        assertThat(fp16).containsEntry("aggregate_16_ceiling_x", Bench.ceiling16(47.6, Bench.decodeTokenFlops(c), 14.3));
        Map<String, Object> fp16Alone = new LinkedHashMap<>(Map.of("gemm_peak_gflops", 164.2));
        Bench.putCeiling16(fp16Alone, Quantization.NONE, "float16", c, 14.3);
        assertThat(fp16Alone).as("float16's own peak not measured").doesNotContainKey("aggregate_16_ceiling_x");
    }

    /** The bench-1B shape's config, as the bench's checkpoint writes it. */
    private ModelConfig oneB() throws Exception {
        Files.writeString(tmp.resolve("config.json"), BenchCheckpoint.CONFIG);
        return ModelConfigParser.parse(tmp.resolve("config.json"));
    }

    @Test
    void writesTheReportAndNamesMissingKeys() throws Exception {
        Map<String, Object> r = new LinkedHashMap<>();
        for (String k : Bench.KEYS) {
            r.put(k, Map.of("1", 1.5));
        }
        assertThat(BenchReport.missing(r)).isEmpty();
        Path out = tmp.resolve("bench").resolve("bench.json");
        BenchReport.write(r, out);
        JsonNode json = JsonMapper.builder().build().readTree(out.toFile());
        for (String k : Bench.KEYS) {
            assertThat(json.has(k)).as(k).isTrue();
        }
        r.remove("decode_ratio");
        assertThat(BenchReport.missing(r)).containsExactly("decode_ratio");
        // a key the run says why it did not write (W8A8's prefill_ratio: no int8 GEMM peak) is not missing
        r.remove("prefill_ratio");
        r.put("prefill_ratio_not_run", "the linears multiply in int8 (w8a8); the GEMM peak measured is bfloat16's");
        assertThat(BenchReport.missing(r)).containsExactly("decode_ratio");
        assertThat(BenchReport.table(r)).contains("(no ratio: the linears multiply in int8 (w8a8)");
        r.put("prefill_ratio", Map.of("1", 1.5));
        r.remove("prefill_ratio_not_run");
        assertThat(BenchReport.table(r)).contains("decode, 1 stream");
        r.put("int8", Map.of("decode_ms_1", Map.of("none", 80.0, "int8", 50.0),
                "decode_speedup_1", QuantizedRuns.over(Map.of("none", 80.0, "int8", 50.0))));
        assertThat(BenchReport.table(r)).contains("int8 / bf16, one-row step").contains("int8: 1.60");
        Map<String, Object> int8 = new LinkedHashMap<>();
        int8.put("max_abs_dlogprob", 0.25);
        int8.put("mean_abs_dlogprob", 0.035);
        int8.put("argmax_equal", "139/159");
        int8.put("argmax_equal_clear", "91/91");
        int8.put("greedy_teacher_forced", "27/32");
        int8.put("greedy_teacher_forced_clear", "17/17");
        r.put("quality", Map.of("reference", "bfloat16, quantization none, KV cache auto", "rows", 159, "int8", int8));
        assertThat(BenchReport.table(r)).contains("(159 rows)").contains("quality int8                       max 0.2500"
                + " mean 0.0350, argmax 139/159 (margin ≥ 0.1: 91/91), greedy 27/32 (17/17)");
        r.put("bandwidth_gbs", 29.26);
        r.put("bandwidth_probes_gbs", probes("start", 28.99, "before_decode", 29.26));
        assertThat(BenchReport.table(r)).contains("29.26 GB/s, best of {start: 28.99, before_decode: 29.26}");
        r.put("gemm_peak_gflops", 408.33);
        r.put("gemm_peak_probes_gflops", probes("start", 408.33, "after_prefill", 398.47));
        assertThat(BenchReport.table(r)).contains("408.33 GFLOP/s, best of {start: 408.3, after_prefill: 398.5}");
        r.put("long_context", Map.of("prompt_tokens", 32768, "prefill_s", 19.31, "peak_rss_bytes", 10.42e9,
                "peak_over_before_bytes", -3e6, "kv_cache_bytes", 0.03e9));
        assertThat(BenchReport.table(r))
                .contains("19.31 s prefill, peak RSS 10.42 GB (+0.00 GB over before; KV 0.03 GB)");
        r.put("long_context", Map.of("prompt_tokens", 32768, "prefill_s", 19.31, "peak_rss_bytes", 10.42e9,
                "peak_over_before_bytes", 0.25e9, "kv_cache_bytes", 0.03e9));
        assertThat(BenchReport.table(r)).contains("(+0.25 GB over before").contains("32768-token prompt (tiny shape)");
        r.put("long_context", Map.of("shape", "1b", "prompt_tokens", 8192, "prefill_s", 61.0, "peak_rss_bytes", 4.1e9,
                "peak_over_before_bytes", 0.3e9, "kv_cache_bytes", 0.27e9));
        assertThat(BenchReport.table(r)).contains("8192-token prompt (1b shape)       61.00 s prefill");
    }

    @Test
    void fillerTokensAreDistinctByteLevelWords() {
        assertThat(BenchModelDir.filler(0)).isEqualTo("\u0120aab");
        assertThat(BenchModelDir.filler(0)).isNotEqualTo(BenchModelDir.filler(1));
        assertThat(BenchModelDir.filler(126_975)).hasSizeBetween(4, 5);
    }

    /** Two probes in the order the bench writes them. */
    private static Map<String, Double> probes(String first, double a, String second, double b) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put(first, a);
        m.put(second, b);
        return m;
    }
}
