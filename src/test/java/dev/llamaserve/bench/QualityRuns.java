package dev.llamaserve.bench;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.device.DevicePlanner;
import dev.llamaserve.engine.model.ComputeDType;
import dev.llamaserve.engine.model.ForwardBatch;
import dev.llamaserve.engine.model.KvCacheDType;
import dev.llamaserve.engine.model.LlamaModel;
import dev.llamaserve.engine.model.LogitRows;
import dev.llamaserve.engine.model.ModelConfig;
import dev.llamaserve.engine.model.ModelOptions;
import dev.llamaserve.engine.model.Quantization;
import dev.llamaserve.engine.model.TorchThreads;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Section {@code quality}: issue 12's quality figures on the bench shape, between modes. The bench's checkpoint has
 * no float64 reference (the tiny fixture's is in {@code QuantizationQualityIT}), so each 8-bit or fp8 mode is read
 * against the same checkpoint in the same dtype without it: the reference runs a 128-token random prompt (every
 * row's logits) and decodes 32 tokens greedily; each mode runs the same prompt and is teacher-forced through the
 * reference's 32 tokens. Per mode: max and mean |Δlogprob| over every vocabulary entry of every row (the 128
 * prompt rows and the 31 decode rows), how many rows keep the reference's argmax (all, and those whose reference
 * top-2 margin is ≥ 0.1), and the same over the 32 rows that chose the greedy tokens. One model at a time (the 8B
 * shape's do not fit side by side); {@code w8a8} modes on CPUs that cannot run them are reported under
 * {@code <mode>_not_run}. Beside them, for scale, bfloat16 itself against float32 or float16 ({@link #scaleRow}).
 */
final class QualityRuns {

    /**
     * A weight quantization with a KV cache dtype, named as the two properties would set them; {@code dtype} set
     * only for the row that shows how far the bench's dtype itself is from a finer one ({@link #scaleRow}).
     */
    record Mode(Quantization quantization, KvCacheDType kvCache, String dtype) {
        Mode(Quantization quantization, KvCacheDType kvCache) {
            this(quantization, kvCache, null);
        }

        String name() {
            if (dtype != null) {
                return dtype;
            }
            String kv = "kv " + kvCache.optionName();
            return kvCache == KvCacheDType.AUTO ? quantization.optionName()
                    : quantization == Quantization.NONE ? kv : quantization.optionName() + " + " + kv;
        }
    }

    static final Mode REFERENCE = new Mode(Quantization.NONE, KvCacheDType.AUTO);
    static final List<Mode> MODES = List.of(new Mode(Quantization.INT8, KvCacheDType.AUTO),
            new Mode(Quantization.INT8_LM_HEAD, KvCacheDType.AUTO), new Mode(Quantization.W8A8, KvCacheDType.AUTO),
            new Mode(Quantization.W8A8_LM_HEAD, KvCacheDType.AUTO),
            new Mode(Quantization.NONE, KvCacheDType.FLOAT8_E4M3),
            new Mode(Quantization.INT8, KvCacheDType.FLOAT8_E4M3));
    static final double CLEAR_MARGIN = 0.1;
    private static final int PROMPT = 128;
    private static final int GREEDY = 32;
    private static final int KV_TOKENS = 1024;

    private QualityRuns() {
    }

    /** Runs on a thread that ends with the section (one OpenMP team: see {@link TorchThreads}). */
    static Map<String, Object> run(Path dir, String dtype) {
        return TorchThreads.onEndingThread("bench-quality", () -> measure(dir, dtype));
    }

    private static Map<String, Object> measure(Path dir, String dtype) {
        Map<String, Object> r = new LinkedHashMap<>();
        ModelConfig config = Checkpoint.open(dir).config();
        int vocab = config.vocabSize();
        int[] prompt = new SplittableRandom(11).ints(PROMPT, 0, vocab).toArray();
        int[] greedy = new int[GREEDY];
        float[] reference;
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(dir), options(dtype, REFERENCE), null)) {
            reference = rows(m, prompt, greedy, true);
        }
        r.put("reference", dtype + ", quantization none, KV cache auto");
        r.put("rows", PROMPT + GREEDY - 1);
        List<Mode> modes = new java.util.ArrayList<>(MODES);
        Mode scale = scaleRow(config, dtype, DevicePlanner.cpu().freeBytes());
        if (scale != null) {
            modes.add(0, scale);
        }
        for (Mode mode : modes) {
            LlamaModel m = QuantizedRuns.loadOrReport(dir, options(dtype, mode), mode.name(), r);
            if (m != null) {
                try (m) {
                    r.put(mode.name(), compare(reference, rows(m, prompt, greedy, false), vocab, PROMPT - 1));
                }
            }
        }
        System.out.println("bench quality: " + r);
        return r;
    }

    /**
     * The row that shows, for scale, how far bfloat16's own rounding moves the logits: bfloat16 against float32
     * where its weights fit in half the free memory (the 1B shape: 4.9 GB), else float16 (the 8B shape: float32's
     * 32 GB do not fit; float16 keeps 3 more mantissa bits than bfloat16, so bfloat16 against it is about bfloat16's
     * own rounding); none when the bench runs in float32 or float16 already.
     */
    static Mode scaleRow(ModelConfig config, String dtype, long freeBytes) {
        if (ComputeDType.parse(dtype) != ComputeDType.BFLOAT16) {
            return null;
        }
        boolean float32Fits = Quantization.NONE.weightBytes(config, ComputeDType.FLOAT32.bytes()) < freeBytes / 2;
        return new Mode(Quantization.NONE, KvCacheDType.AUTO, float32Fits ? "float32" : "float16");
    }

    private static ModelOptions options(String dtype, Mode mode) {
        return new ModelOptions("cpu", mode.dtype() != null ? mode.dtype() : dtype, KV_TOKENS, 512, mode.kvCache(),
                ModelOptions.DEFAULT_KV_BLOCK_SIZE, mode.quantization());
    }

    /**
     * [PROMPT + GREEDY - 1, V] logits: the prompt's rows, then one per decode step fed {@code greedy}'s tokens; the
     * reference ({@code choose}) fills {@code greedy} with its own argmax at each step, the others are forced
     * through it.
     */
    private static float[] rows(LlamaModel m, int[] prompt, int[] greedy, boolean choose) {
        float[] first = m.forward(ForwardBatch.contiguous(prompt, 0, true));   // [PROMPT, V]
        int vocab = first.length / prompt.length;
        float[] out = new float[(prompt.length + greedy.length - 1) * vocab];
        System.arraycopy(first, 0, out, 0, first.length);
        int row = prompt.length - 1;
        for (int step = 0; step < greedy.length; step++, row++) {
            if (choose) {
                greedy[step] = LogitRows.argmax(out, row * vocab, vocab);
            }
            if (step + 1 < greedy.length) {
                int[] token = {greedy[step]};
                float[] next = m.forward(ForwardBatch.contiguous(token, prompt.length + step, false));
                System.arraycopy(next, 0, out, (row + 1) * vocab, vocab);   // [V]
            }
        }
        return out;
    }

    /**
     * One mode's rows against the reference's, both [rows, vocab]: |Δlogprob| over every entry, argmax kept on all
     * rows and on those with a clear reference margin, and the same from row {@code firstGreedyRow} on (the rows
     * that chose the greedy tokens).
     */
    static Map<String, Object> compare(float[] reference, float[] mode, int vocab, int firstGreedyRow) {
        if (reference.length != mode.length || reference.length % vocab != 0) {
            throw new IllegalArgumentException("rows of " + reference.length + " and " + mode.length + " logits, vocab "
                    + vocab);
        }
        int rows = reference.length / vocab;
        double max = 0;
        double sum = 0;
        int[] equal = new int[4];   // all rows, clear rows, greedy rows, clear greedy rows
        int[] count = new int[4];
        for (int r = 0; r < rows; r++) {
            double[] a = LogitRows.logSoftmax(reference, r * vocab, vocab);
            double[] b = LogitRows.logSoftmax(mode, r * vocab, vocab);
            for (int v = 0; v < vocab; v++) {
                double d = Math.abs(a[v] - b[v]);
                max = Math.max(max, d);   // NaN stays NaN
                sum += d;
            }
            boolean same = LogitRows.argmax(a) == LogitRows.argmax(b);
            boolean clear = LogitRows.margin(a) >= CLEAR_MARGIN;
            boolean greedyRow = r >= firstGreedyRow;
            for (int k = 0; k < 4; k++) {
                if ((k % 2 == 0 || clear) && (k < 2 || greedyRow)) {
                    count[k]++;
                    equal[k] += same ? 1 : 0;
                }
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("max_abs_dlogprob", max);
        out.put("mean_abs_dlogprob", sum / ((double) rows * vocab));
        out.put("argmax_equal", equal[0] + "/" + count[0]);
        out.put("argmax_equal_clear", equal[1] + "/" + count[1]);
        out.put("greedy_teacher_forced", equal[2] + "/" + count[2]);
        out.put("greedy_teacher_forced_clear", equal[3] + "/" + count[3]);
        return out;
    }

    /** The table's line for one mode. */
    static String line(Map<?, ?> q) {
        return String.format(Locale.ROOT, "max %.4f mean %.4f, argmax %s (margin ≥ %.1f: %s), greedy %s (%s)",
                ((Number) q.get("max_abs_dlogprob")).doubleValue(), ((Number) q.get("mean_abs_dlogprob")).doubleValue(),
                q.get("argmax_equal"), CLEAR_MARGIN, q.get("argmax_equal_clear"), q.get("greedy_teacher_forced"),
                q.get("greedy_teacher_forced_clear"));
    }
}
