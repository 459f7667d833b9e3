package dev.llamaserve.bench;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.device.DevicePlanner;
import dev.llamaserve.engine.model.ComputeDType;
import dev.llamaserve.engine.model.DecodeBatches;
import dev.llamaserve.engine.model.ForwardBatch;
import dev.llamaserve.engine.model.KernelProbe;
import dev.llamaserve.engine.model.LlamaModel;
import dev.llamaserve.engine.model.ModelConfig;
import dev.llamaserve.engine.model.ModelOptions;
import dev.llamaserve.engine.model.Quantization;
import dev.llamaserve.engine.model.TorchThreads;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.IntConsumer;

/**
 * Section {@code int8}: the same checkpoint loaded five times side by side (bf16 weights, {@code int8},
 * {@code int8-lm-head}, {@code w8a8}, {@code w8a8-lm-head}; the last two only on CPUs that run them, else the report
 * says why under {@code <mode>_not_run}) and the same forward passes timed on each, interleaved round by round, so that the
 * phases of a shared machine hit every mode alike and the int8 / bf16 ratios of the issue come from one run (where
 * the five do not fit in memory together, the 8B shape, one model at a time: {@code models_loaded} says which):
 * a one-row decode step (median of 9), a 16-row decode step (median of 5) and a 512-token prefill chunk (median
 * of 3). Each mode's one-row step is also read against the bandwidth limit of the bytes it reads, the bandwidth
 * measured again before each round (the median of the rounds' ratios; against the bench's one probe at its start under
 * {@code decode_ratio_1_start_probe}).
 */
final class QuantizedRuns {

    static final List<Quantization> MODES = List.of(Quantization.NONE, Quantization.INT8, Quantization.INT8_LM_HEAD,
            Quantization.W8A8, Quantization.W8A8_LM_HEAD);
    private static final int KV_TOKENS = 4096;
    private static final int ONE_ROW_ROUNDS = 9;
    static final long ROUND_PROBE_BYTES = 512L << 20;   // 3 sums of one 512 MiB tensor before each round: ~30 ms

    private QuantizedRuns() {
    }

    /** Runs on a thread that ends with the section (one OpenMP team: see {@link TorchThreads}). */
    static Map<String, Object> run(Path dir, String dtype, Double bandwidthGbs) {
        return TorchThreads.onEndingThread("bench-int8", () -> measure(dir, dtype, bandwidthGbs));
    }

    private static Map<String, Object> measure(Path dir, String dtype, Double bandwidthGbs) {
        Map<String, Object> r = new LinkedHashMap<>();
        ModelConfig config = Checkpoint.open(dir).config();
        int computeBytes = ComputeDType.parse(dtype).bytes();
        long sideBySide = MODES.stream().mapToLong(q -> q.weightBytes(config, computeBytes)).sum();
        long free = DevicePlanner.cpu().freeBytes();
        // the five side by side where they fit (the 1B shape: 8 GB), else one at a time (the 8B shape: 51 GB), each
        // against the bandwidth of its own rounds still, but its speed-up over bf16 then from minutes apart
        boolean together = sideBySide < free / 2;
        List<List<Quantization>> groups = together ? List.of(MODES) : MODES.stream().map(List::of).toList();
        r.put("models_loaded", together ? "side by side, interleaved round by round"
                : String.format(java.util.Locale.ROOT, "one at a time (%.1f GB of weights side by side; %.1f GB of"
                        + " memory free)", sideBySide / 1e9, free / 1e9));
        Map<String, Long> bytes = new LinkedHashMap<>();
        Map<String, Double> one = new LinkedHashMap<>();
        Map<String, Double> sixteen = new LinkedHashMap<>();
        Map<String, Double> prefill = new LinkedHashMap<>();
        Map<String, Double> ratio = new LinkedHashMap<>();
        List<Double> allRounds = new ArrayList<>();
        int vocab = config.vocabSize();
        int[] prompt = new java.util.SplittableRandom(11).ints(128, 0, vocab).toArray();
        int[] chunk = new java.util.SplittableRandom(12).ints(512, 0, vocab).toArray();
        for (List<Quantization> group : groups) {
            List<LlamaModel> models = new ArrayList<>();
            try {
                for (Quantization q : group) {
                    ModelOptions o = new ModelOptions("cpu", dtype, KV_TOKENS, 512, q);
                    LlamaModel m = loadOrReport(dir, o, q.optionName(), r);
                    if (m != null) {
                        models.add(m);
                    }
                }
                if (models.isEmpty()) {
                    continue;
                }
                for (LlamaModel m : models) {   // warm-up; the 128 prompt tokens the one-row steps attend to
                    m.forward(ForwardBatch.contiguous(prompt, 0, false));
                    m.forward(ForwardBatch.contiguous(new int[] {42}, 128, false));
                    m.forward(DecodeBatches.of(16, 256, KV_TOKENS));
                }
                for (LlamaModel m : models) {
                    bytes.put(m.quantization().optionName(), m.quantization().decodeReadBytes(m.config(), m.dtype().bytes()));
                }
                // the one-row steps against the bandwidth of their own round: this VM's read bandwidth moves by a
                // third within minutes, so a probe taken once at the start made ratios of 0.6 or of 1.1 for the same
                // kernels
                double[] roundBandwidth = new double[ONE_ROW_ROUNDS];
                double[][] oneMs = new double[models.size()][];
                try (KernelProbe probe = new KernelProbe(); KernelProbe.Reader reader = probe.reader(ROUND_PROBE_BYTES)) {
                    one.putAll(interleaved(models, ONE_ROW_ROUNDS,
                            i -> ForwardBatch.contiguous(new int[] {42}, 128 + i, false),
                            i -> roundBandwidth[i] = reader.gbs(2), oneMs));
                }
                sixteen.putAll(interleaved(models, 5, i -> DecodeBatches.of(16, 256, KV_TOKENS), i -> { }, null));
                prefill.putAll(interleaved(models, 3, i -> ForwardBatch.contiguous(chunk, 0, false), i -> { }, null));
                for (int k = 0; k < models.size(); k++) {
                    String mode = models.get(k).quantization().optionName();
                    double[] perRound = new double[ONE_ROW_ROUNDS];
                    for (int i = 0; i < ONE_ROW_ROUNDS; i++) {
                        perRound[i] = Bench.ofLimit(bytes.get(mode), roundBandwidth[i], oneMs[k][i]);
                    }
                    ratio.put(mode, Bench.median(perRound));
                }
                for (double g : roundBandwidth) {
                    allRounds.add(g);
                }
            } finally {
                models.forEach(LlamaModel::close);
            }
        }
        r.put("decode_read_bytes", bytes);
        r.put("decode_ms_1", one);
        r.put("decode_ms_16", sixteen);
        r.put("prefill_ms_512", prefill);
        r.put("decode_speedup_1", over(one));
        r.put("decode_speedup_16", over(sixteen));
        r.put("prefill_speedup_512", over(prefill));
        r.put("decode_ratio_1", ratio);
        r.put("round_bandwidth_gbs", Bench.median(allRounds.stream().mapToDouble(Double::doubleValue).toArray()));
        if (bandwidthGbs != null) {   // the same against the bench's one probe at its start, as before
            Map<String, Double> startRatio = new LinkedHashMap<>();
            one.forEach((k, ms) -> startRatio.put(k, Bench.ofLimit(bytes.get(k), bandwidthGbs, ms)));
            r.put("decode_ratio_1_start_probe", startRatio);
        }
        System.out.println("bench int8: " + r);
        return r;
    }

    /**
     * The model of {@code options}, or null where the CPU cannot run its W8A8 quantization (it needs AVX-512 with VNNI
     * and bf16): then {@code report} says why under {@code <name>_not_run}. Any other failure is thrown.
     */
    static LlamaModel loadOrReport(Path dir, ModelOptions options, String name, Map<String, Object> report) {
        try {
            return LlamaModel.load(Checkpoint.open(dir), options, null);
        } catch (IllegalStateException e) {
            if (!options.quantization().int8Activations()) {
                throw e;
            }
            report.put(name + "_not_run", e.getMessage());
            return null;
        }
    }

    /**
     * Median ms of {@code rounds} forward passes per model, the models taking turns within each round (after
     * {@code beforeRound}), each writing its
     * logits into an array it reuses, as the engine's {@code ModelRunner} does (a new 0.5 MiB array per step cost a
     * one-row step page faults the engine does not pay); {@code perRound}, where given, gets each model's times in
     * round order.
     */
    private static Map<String, Double> interleaved(List<LlamaModel> models, int rounds, Function<Integer, ForwardBatch> batch,
                                               IntConsumer beforeRound, double[][] perRound) {
        double[][] ms = new double[models.size()][rounds];
        float[][] logits = new float[models.size()][];
        for (int i = 0; i < rounds; i++) {
            beforeRound.accept(i);
            for (int k = 0; k < models.size(); k++) {
                ForwardBatch b = batch.apply(i);
                long t0 = System.nanoTime();
                logits[k] = models.get(k).forward(b, logits[k]);
                ms[k][i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        Map<String, Double> out = new LinkedHashMap<>();
        for (int k = 0; k < models.size(); k++) {
            if (perRound != null) {
                perRound[k] = ms[k].clone();   // in round order
            }
            out.put(models.get(k).quantization().optionName(), Bench.median(ms[k]));
        }
        return out;
    }

    /** bf16 time over each quantized mode's time: above 1 where int8 is faster. */
    static Map<String, Double> over(Map<String, Double> ms) {
        Map<String, Double> out = new LinkedHashMap<>();
        double base = ms.get(Quantization.NONE.optionName());
        ms.forEach((k, v) -> {
            if (!k.equals(Quantization.NONE.optionName())) {
                out.put(k, base / v);
            }
        });
        return out;
    }
}
