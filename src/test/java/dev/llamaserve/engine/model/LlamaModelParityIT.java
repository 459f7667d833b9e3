package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.checkpoint.SafetensorsWriter;
import dev.llamaserve.engine.checkpoint.TensorInfo;
import dev.llamaserve.engine.sampling.Sampler;
import dev.llamaserve.engine.testing.TestDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import tools.jackson.databind.JsonNode;

/**
 * {@link LlamaModel} on the CPU against the fixture's float64 reference logits
 * ({@code fixtures/tiny-llama31/reference-outputs.json}), in every compute dtype the service offers.
 * float32: max |Δlogit| ≤ 2e-3 on every stored row; float16/bfloat16: ≤ 0.1 and the same argmax where the
 * reference's top-2 margin exceeds 0.1. One model per dtype is shared by the tests (each test writes every
 * KV slot it reads before reading it).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LlamaModelParityIT {

    private static final int VOCAB = 768;
    private static final int CHUNK = 512;
    private static final int KV_SLOTS = 9216;

    private JsonNode reference;
    @TempDir
    Path tmp;
    private final Map<ComputeDType, LlamaModel> models = new EnumMap<>(ComputeDType.class);
    private final Map<String, String> report = new LinkedHashMap<>();

    @BeforeAll
    void loadReference() throws IOException {
        reference = TinyFixture.reference();
    }

    @AfterAll
    void closeModelsAndReport() {
        models.values().forEach(LlamaModel::close);
        System.out.println("=== max |Δlogit| against the float64 reference (tiny-llama31, " + TestDevice.label() + ") ===");
        report.forEach((k, v) -> System.out.printf("  %-50s %s%n", k, v));
    }

    private LlamaModel model(ComputeDType dtype) {
        return models.computeIfAbsent(dtype, d -> LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                new ModelOptions(TestDevice.option(), d.optionName(), KV_SLOTS, CHUNK), LoadListener.NONE));
    }

    private static double tolerance(ComputeDType d) {
        return d == ComputeDType.FLOAT32 ? 2e-3 : 0.1;
    }

    JsonNode testCase(String name) {
        return TinyFixture.testCase(reference, name);
    }

    @ParameterizedTest
    @EnumSource(ComputeDType.class)
    void prefill24(ComputeDType dtype) {
        JsonNode c = testCase("prefill_24");
        int[] ids = TinyFixture.ints(c.get("ids"));
        float[] logits = model(dtype).forward(ForwardBatch.contiguous(ids, 0, true));   // [24 * V]
        compareRows("prefill_24", dtype, c, logits, TinyFixture.ints(c.get("positions")));
    }

    @ParameterizedTest
    @EnumSource(ComputeDType.class)
    void long9000ChunkedPrefill(ComputeDType dtype) {
        JsonNode c = testCase("long_9000");
        int[] ids = TinyFixture.ints(c.get("ids"));
        int[] wanted = TinyFixture.ints(c.get("positions"));
        float[] logits = run(model(dtype), ids, ids.length, wanted);
        compareRows("long_9000 chunked " + CHUNK, dtype, c, logits, wanted);
    }

    @ParameterizedTest
    @EnumSource(ComputeDType.class)
    void long9000WithTheLast8AsDecodeSteps(ComputeDType dtype) {
        JsonNode c = testCase("long_9000");
        int[] ids = TinyFixture.ints(c.get("ids"));
        int[] wanted = TinyFixture.ints(c.get("positions"));
        float[] logits = run(model(dtype), ids, ids.length - 8, wanted);
        compareRows("long_9000 chunked + 8 decode steps", dtype, c, logits, wanted);
    }

    /**
     * Feeds {@code ids} as prefill chunks of ≤ {@link #CHUNK} up to {@code prefillLen}, then one token per step;
     * returns the logits of {@code wanted} positions, in order.
     */
    static float[] run(LlamaModel m, int[] ids, int prefillLen, int[] wanted) {
        float[] out = new float[wanted.length * VOCAB];
        int w = 0;
        int start = 0;
        while (start < ids.length) {
            int n = start < prefillLen ? Math.min(CHUNK, prefillLen - start) : 1;
            List<Integer> rows = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (w + rows.size() < wanted.length && wanted[w + rows.size()] == start + i) {
                    rows.add(i);
                }
            }
            int[] chunk = java.util.Arrays.copyOfRange(ids, start, start + n);
            ForwardBatch full = ForwardBatch.contiguous(chunk, start, true);
            ForwardBatch batch = new ForwardBatch(full.tokenIds(), full.positions(), full.slotMapping(),
                    full.queryStart(), full.queryLen(), full.contextSlots(),
                    rows.stream().mapToInt(Integer::intValue).toArray());
            float[] logits = m.forward(batch);                          // [rows * V]
            System.arraycopy(logits, 0, out, w * VOCAB, rows.size() * VOCAB);
            w += rows.size();
            start += n;
        }
        assertThat(w).isEqualTo(wanted.length);
        return out;
    }

    private void compareRows(String label, ComputeDType dtype, JsonNode c, float[] logits, int[] positions) {
        assertThat(logits).hasSize(positions.length * VOCAB);
        double max = 0;
        for (int r = 0; r < positions.length; r++) {
            double[] ref = TinyFixture.doubles(c.get("logits").get(r));
            double rowMax = 0;
            for (int v = 0; v < VOCAB; v++) {
                rowMax = Math.max(rowMax, Math.abs(ref[v] - logits[r * VOCAB + v]));
            }
            max = Math.max(max, rowMax);
            assertThat(rowMax).as("%s %s: max |Δlogit| at position %d", label, dtype, positions[r])
                    .isLessThanOrEqualTo(tolerance(dtype));
            if (dtype != ComputeDType.FLOAT32 && LogitRows.margin(ref) > 0.1) {
                assertThat(argmax(logits, r * VOCAB)).as("%s %s: argmax at position %d", label, dtype, positions[r])
                        .isEqualTo(LogitRows.argmax(ref));
            }
        }
        report.put(label + " / " + dtype.optionName(), String.format("%.3e", max));
    }

    @ParameterizedTest
    @EnumSource(ComputeDType.class)
    void greedyTeacherForced(ComputeDType dtype) {
        JsonNode g = reference.get("greedy");
        int[] prompt = TinyFixture.ints(g.get("prompt_ids"));
        int[] generated = TinyFixture.ints(g.get("generated_ids"));
        double[] margins = TinyFixture.doubles(g.get("top1_minus_top2"));
        double minMargin = dtype == ComputeDType.FLOAT32 ? 0.02 : 0.1;
        LlamaModel m = model(dtype);
        float[] logits = m.forward(ForwardBatch.contiguous(prompt, 0, false));   // [V] after the prompt
        int checked = 0;
        for (int step = 0; step < generated.length; step++) {
            if (margins[step] >= minMargin) {
                assertThat(argmax(logits, 0)).as("greedy %s step %d (margin %.4f)", dtype, step, margins[step])
                        .isEqualTo(generated[step]);
                checked++;
            }
            logits = m.forward(ForwardBatch.contiguous(new int[] {generated[step]}, prompt.length + step, false));
        }
        long clear = java.util.Arrays.stream(margins).filter(x -> x >= minMargin).count();
        assertThat(checked).as("steps with a margin ≥ %s", minMargin).isEqualTo(clear).isPositive();
        report.put("greedy teacher-forced / " + dtype.optionName(),
                "argmax = generated id at " + checked + "/" + generated.length + " steps (all with margin ≥ " + minMargin + ")");
    }

    /**
     * The step's own argmax (forwardArgmax, what a step of greedy rows returns, through llama-serve's kernel or
     * torch.argmax) is, for every row of a 24-token prefill and in every dtype, the first greatest logit of the row
     * forward returns, over the whole vocabulary and over its first ids only (a padded vocabulary's text ids).
     * Ties at the top: the next test.
     */
    @ParameterizedTest
    @EnumSource(ComputeDType.class)
    void argmaxInTheStepIsTheFirstGreatestLogitOfEachRow(ComputeDType dtype) {
        LlamaModel m = model(dtype);
        // in the step where it is quick: llama-serve's kernel (bf16 on a CPU with them), or a GPU; else the sampler's
        assertThat(m.argmaxInForward()).as("%s, native kernels %s", dtype, m.nativeIsa())
                .isEqualTo(m.nativeIsa() != NativeKernels.Isa.NONE || !TestDevice.isCpu());
        ForwardBatch prefill = ForwardBatch.contiguous(TinyFixture.ints(testCase("prefill_24").get("ids")), 0, true);
        float[] logits = m.forward(prefill);   // [24, V]
        for (int width : new int[] {VOCAB, 301}) {
            int[] ids = m.forwardArgmax(prefill, width);
            assertThat(ids).hasSize(24);
            for (int row = 0; row < 24; row++) {
                int best = Sampler.argmax(logits, row * VOCAB, width);
                assertThat(ids[row]).as("%s row %d of width %d", dtype, row, width).isEqualTo(best);
            }
        }
        assertThatThrownBy(() -> m.forwardArgmax(prefill, VOCAB + 1)).isInstanceOf(IllegalArgumentException.class);
        report.put("step's argmax = first greatest logit / " + dtype.optionName(), "48 rows (widths " + VOCAB
                + ", 301), " + (m.argmaxInForward() ? "taken by the engine" : "not taken: the sampler's quicker"));
    }

    /**
     * Equal greatest logits: a copy of the fixture whose lm_head has row {@code twin} made the same as row {@code top},
     * the first prefill row's argmax, so that the row's logits there are equal, and the step's argmax must be the
     * lower id, as the sampler's is (every dtype; the twin below the top, and above it where the top is id 0 or 1).
     */
    @ParameterizedTest
    @EnumSource(ComputeDType.class)
    void argmaxInTheStepTakesTheFirstOfEqualGreatestLogits(ComputeDType dtype) throws IOException {
        ForwardBatch prefill = ForwardBatch.contiguous(TinyFixture.ints(testCase("prefill_24").get("ids")), 0, true);
        int top = model(dtype).forwardArgmax(prefill, VOCAB)[0];
        int twin = top >= 2 ? top / 2 : top + 1;
        Path dir = tmp.resolve("twin-" + dtype.optionName());
        Files.createDirectories(dir);
        Files.copy(TinyFixture.dir().resolve(Checkpoint.CONFIG), dir.resolve(Checkpoint.CONFIG));
        SafetensorsWriter w = new SafetensorsWriter();
        for (TensorInfo t : Checkpoint.open(TinyFixture.dir()).tensors().values()) {
            if (t.name().equals(LlamaModel.LM_HEAD)) {   // [V, H]: row twin's bytes replaced by row top's
                java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
                TinyFixture.writeTensor(t, b);
                byte[] bytes = b.toByteArray();
                int row = Math.toIntExact(t.shape()[1] * t.dtype().bytes());
                System.arraycopy(bytes, top * row, bytes, twin * row, row);
                w.add(t.name(), t.dtype(), t.shape(), out -> out.write(bytes));
            } else {
                w.add(t.name(), t.dtype(), t.shape(), out -> TinyFixture.writeTensor(t, out));
            }
        }
        w.write(dir.resolve(Checkpoint.SINGLE));
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(dir),
                new ModelOptions(TestDevice.option(), dtype.optionName(), 256, CHUNK), LoadListener.NONE)) {
            float[] logits = m.forward(prefill);   // [24, V]
            assertThat(logits[twin]).as("%s logits of the twin rows", dtype).isEqualTo(logits[top]);
            assertThat(Sampler.argmax(logits, 0, VOCAB)).isEqualTo(Math.min(twin, top));
            assertThat(m.forwardArgmax(prefill, VOCAB)[0]).as("%s: ids %d and %d tie", dtype, twin, top)
                    .isEqualTo(Math.min(twin, top));
        }
    }

    /** Two sequences in one batch, in interleaved 16-slot blocks, give what each gives alone. */
    @Test
    void batchedSequencesMatchEachRunAlone() {
        LlamaModel m = model(ComputeDType.FLOAT32);
        int[] a = TinyFixture.ints(testCase("prefill_24").get("ids"));                      // 24 tokens
        int[] b = java.util.Arrays.copyOf(TinyFixture.ints(testCase("long_9000").get("ids")), 37);
        int[] aNext = {5, 77};
        int[] bNext = {300, 11};
        // Alone, in contiguous slots 0..
        float[] aAlone = m.forward(ForwardBatch.contiguous(a, 0, true));
        float[] aDecode1 = m.forward(ForwardBatch.contiguous(new int[] {aNext[0]}, a.length, false));
        float[] aDecode2 = m.forward(ForwardBatch.contiguous(new int[] {aNext[1]}, a.length + 1, false));
        float[] bAlone = m.forward(ForwardBatch.contiguous(b, 0, true));
        float[] bDecode1 = m.forward(ForwardBatch.contiguous(new int[] {bNext[0]}, b.length, false));
        float[] bDecode2 = m.forward(ForwardBatch.contiguous(new int[] {bNext[1]}, b.length + 1, false));

        // Together: A in even blocks, B in odd blocks (block size 16), starting at slot 1024.
        int[] aSlots = blockSlots(a.length + 2, 0);
        int[] bSlots = blockSlots(b.length + 2, 1);
        int t = a.length + b.length;
        int[] ids = new int[t];
        int[] pos = new int[t];
        int[] slots = new int[t];
        int[] rows = new int[t];
        for (int i = 0; i < a.length; i++) {
            ids[i] = a[i];
            pos[i] = i;
            slots[i] = aSlots[i];
        }
        for (int i = 0; i < b.length; i++) {
            ids[a.length + i] = b[i];
            pos[a.length + i] = i;
            slots[a.length + i] = bSlots[i];
        }
        for (int i = 0; i < t; i++) {
            rows[i] = i;
        }
        float[] both = m.forward(new ForwardBatch(ids, pos, slots, new int[] {0, a.length},
                new int[] {a.length, b.length},
                new int[][] {java.util.Arrays.copyOf(aSlots, a.length), java.util.Arrays.copyOf(bSlots, b.length)},
                rows));
        double d = maxDiff(both, 0, aAlone, 0, a.length * VOCAB);
        d = Math.max(d, maxDiff(both, a.length * VOCAB, bAlone, 0, b.length * VOCAB));
        // Two decode steps of both sequences together, B listed first this time; logits for A then B.
        for (int s = 0; s < 2; s++) {
            int pa = a.length + s;
            int pb = b.length + s;
            float[] step = m.forward(new ForwardBatch(new int[] {bNext[s], aNext[s]}, new int[] {pb, pa},
                    new int[] {bSlots[pb], aSlots[pa]}, new int[] {0, 1}, new int[] {1, 1},
                    new int[][] {java.util.Arrays.copyOf(bSlots, pb + 1), java.util.Arrays.copyOf(aSlots, pa + 1)},
                    new int[] {1, 0}));
            d = Math.max(d, maxDiff(step, 0, s == 0 ? aDecode1 : aDecode2, 0, VOCAB));
            d = Math.max(d, maxDiff(step, VOCAB, s == 0 ? bDecode1 : bDecode2, 0, VOCAB));
        }
        report.put("batched (2 seqs, interleaved) vs alone / float32", String.format("%.3e", d));
        assertThat(d).isLessThanOrEqualTo(1e-4);
        // and A's batched prefill still matches the reference
        compareRows("prefill_24 inside a 2-sequence batch", ComputeDType.FLOAT32, testCase("prefill_24"),
                java.util.Arrays.copyOf(both, a.length * VOCAB), TinyFixture.ints(testCase("prefill_24").get("positions")));
    }

    /** Slots of {@code n} positions in 16-slot blocks {@code parity}, {@code parity + 2}, ... from slot 1024. */
    private static int[] blockSlots(int n, int parity) {
        int[] s = new int[n];
        for (int p = 0; p < n; p++) {
            int block = 64 + 2 * (p / 16) + parity;
            s[p] = block * 16 + p % 16;
        }
        return s;
    }

    private static double maxDiff(float[] x, int xo, float[] y, int yo, int n) {
        double m = 0;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, Math.abs(x[xo + i] - y[yo + i]));
        }
        return m;
    }

    /** The argmax of the tiny fixture's row at {@code offset} (its {@value #VOCAB} entries). */
    static int argmax(float[] v, int offset) {
        return LogitRows.argmax(v, offset, VOCAB);
    }
}
