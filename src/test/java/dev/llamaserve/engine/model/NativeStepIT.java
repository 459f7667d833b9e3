package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import java.util.Arrays;
import java.util.function.BiConsumer;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The tiny fixture in bf16 decodes the same tokens with llama-serve's native decode attention, RMSNorm (with the
 * residual add before it), rotary embedding and KV write, and SiLU-times-up as with the step script's own: after a
 * 100-token prompt (7 pages), each of five decode steps is computed both ways at the same position (the second
 * overwrites the first's KV slot), with each instruction set this CPU has. Within the bf16 parity tolerance, the
 * same greedy token.
 */
class NativeStepIT {

    @Test
    void nativeAttentionAndNormDecodeLikeTheScript() {
        withEachIsa((isa, m) -> {
            assertThat(m.nativeAttention()).as("a bf16 model on the CPU attends natively").isTrue();
            assertThat(m.nativeRope()).as("and rotates q and k and writes its KV natively").isTrue();
            assertThat(m.nativeSilu()).as("and computes the MLP's silu(gate) * up natively").isTrue();
            int[] prompt = IntStream.range(0, 100).map(i -> (i * 53 + 7) % 700 + 1).toArray();
            m.forward(ForwardBatch.contiguous(prompt, 0, false));
            int token = 42;
            for (int pos = prompt.length; pos < prompt.length + 5; pos++) {
                m.nativeAttention(true);
                m.nativeNorm(true);
                m.nativeRope(true);
                m.nativeSilu(true);
                float[] nativeStep = m.forward(ForwardBatch.contiguous(new int[] {token}, pos, false));   // [V]
                m.nativeAttention(false);
                m.nativeNorm(false);
                m.nativeRope(false);
                m.nativeSilu(false);
                float[] scriptStep = m.forward(ForwardBatch.contiguous(new int[] {token}, pos, false));   // [V]
                assertThat(PagedAttentionTest.maxDiff(nativeStep, scriptStep))
                        .as("%s position %d: max |Δlogit|", isa, pos).isLessThanOrEqualTo(0.1);
                int greedy = LlamaModelParityIT.argmax(scriptStep, 0);
                assertThat(LlamaModelParityIT.argmax(nativeStep, 0)).as("%s position %d argmax", isa, pos)
                        .isEqualTo(greedy);
                token = greedy;
            }
        });
    }

    /**
     * Each decoder layer in one native call ({@code llamaserve::decoder_layer}) gives the logits of the same native
     * ops called one by one from the step script, bit for bit: a 100-token prompt (its rows attend natively where the
     * CPU has AVX-512 BF16), then five decode steps, each computed both ways at the same position, and a step of a
     * 10-token prefill chunk beside a decoding row, with each instruction set this CPU has.
     */
    @Test
    void eachLayerInOneNativeCallGivesTheOpByOpLogitsBitForBit() {
        withEachIsa((isa, m) -> fusedMatchesOpByOp(isa.toString(), m));
    }

    /** The same with blocked int8 weights ({@code decoder_layer_int8}): {@code int8} with each instruction set this CPU has. */
    @Test
    void int8LayersInOneNativeCallGiveTheOpByOpLogitsBitForBit() {
        Assumptions.assumeTrue(NativeKernels.load(), () -> "native kernels " + NativeKernels.status());
        for (NativeKernels.Isa isa : new NativeKernels.Isa[] {NativeKernels.Isa.AVX512_BF16, NativeKernels.Isa.AVX2}) {
            try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()), int8Options("int8"),
                    LoadListener.NONE)) {
                if (m.nativeKernelsIsa(isa)) {   // else this CPU lacks it
                    fusedMatchesOpByOp("int8 " + isa, m);
                }
            }
        }
    }

    /**
     * The same with {@code w8a8} (rows quantized per token), with each instruction set this CPU has: it needs AVX-512
     * VNNI (an Ice Lake Xeon has it without BF16, and runs it with AVX2 in use); skipped, saying so, on a CPU without.
     */
    @Test
    void w8a8LayersInOneNativeCallGiveTheOpByOpLogitsBitForBit() {
        Assumptions.assumeTrue(NativeKernels.load(), () -> "native kernels " + NativeKernels.status());
        int ran = 0;
        for (NativeKernels.Isa isa : new NativeKernels.Isa[] {NativeKernels.Isa.AVX512_BF16, NativeKernels.Isa.AVX2}) {
            try (LlamaModel m = W8a8ModelIT.loadOrSkip(int8Options("w8a8"))) {
                if (m.nativeKernelsIsa(isa)) {   // else this CPU lacks it
                    fusedMatchesOpByOp("w8a8 " + isa, m);
                    ran++;
                }
            }
        }
        assertThat(ran).as("w8a8 loaded, so at least AVX2 ran it").isPositive();
    }

    private static ModelOptions int8Options(String quantization) {
        return new ModelOptions("cpu", "bfloat16", 512, 128, Quantization.parse(quantization));
    }

    private static void fusedMatchesOpByOp(String what, LlamaModel m) {
        assertThat(m.fusedLayers()).as("%s: a model whose every op is native fuses its layers", what).isTrue();
        int[] prompt = IntStream.range(0, 100).map(i -> (i * 53 + 7) % 700 + 1).toArray();
        float[][] prefill = new float[2][];
        for (int fused = 0; fused < 2; fused++) {
            m.fusedLayers(fused == 1);
            prefill[fused] = m.forward(new ForwardBatch(prompt, IntStream.range(0, 100).toArray(), slots(0, 100),
                    new int[] {0}, new int[] {100}, new int[][] {slots(0, 100)},
                    IntStream.range(0, 100).toArray()));   // [100, V]: every row's logits
        }
        assertThat(prefill[1]).as("%s prefill, every row", what).containsExactly(prefill[0]);
        int token = 42;
        for (int pos = prompt.length; pos < prompt.length + 5; pos++) {
            float[][] step = new float[2][];
            for (int fused = 1; fused >= 0; fused--) {
                m.fusedLayers(fused == 1);
                step[fused] = m.forward(ForwardBatch.contiguous(new int[] {token}, pos, false));   // [V]
            }
            assertThat(step[1]).as("%s position %d", what, pos).containsExactly(step[0]);
            token = LlamaModelParityIT.argmax(step[0], 0);
        }
        int[] c = IntStream.range(0, 10).map(i -> (i * 17 + 3) % 700 + 1).toArray();
        int[] ids = new int[11];
        int[] pos = new int[11];
        int[] slot = new int[11];
        for (int i = 0; i < 10; i++) {   // a second sequence's prompt in slots 256..265: rows 0..9
            ids[i] = c[i];
            pos[i] = i;
            slot[i] = 256 + i;
        }
        ids[10] = token;   // the first sequence's next token: row 10
        pos[10] = 105;
        slot[10] = 105;
        float[][] mixed = new float[2][];
        for (int fused = 0; fused < 2; fused++) {
            m.fusedLayers(fused == 1);
            mixed[fused] = m.forward(new ForwardBatch(ids, pos, slot, new int[] {0, 10}, new int[] {10, 1},
                    new int[][] {slots(256, 10), slots(0, 106)}, new int[] {9, 10}));   // [2, V]
        }
        assertThat(mixed[1]).as("%s a prefill chunk beside a decoding row", what).containsExactly(mixed[0]);
    }

    /**
     * Decoding rows give the same logits in a step of decoding rows only (q handed to the native decode attention as
     * it is) as beside a prefill chunk (their rows gathered for it and scattered back): bit for bit where the
     * linears are the native several-row kernel, whose rows do not depend on the batch (CPUs with AVX-512 BF16 and no
     * AMX), else within the bf16 parity tolerance with the same greedy tokens.
     */
    @Test
    void decodeRowsAloneOrBesideAPrefillChunkGiveTheSameLogits() {
        Assumptions.assumeTrue(NativeKernels.load(), () -> "native kernels " + NativeKernels.status());
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                new ModelOptions("cpu", "bfloat16", 512, 128), LoadListener.NONE)) {
            int[] a = IntStream.range(0, 40).map(i -> (i * 53 + 7) % 700 + 1).toArray();
            int[] b = IntStream.range(0, 30).map(i -> (i * 31 + 5) % 700 + 1).toArray();
            int[] c = IntStream.range(0, 10).map(i -> (i * 17 + 3) % 700 + 1).toArray();
            m.forward(sequence(a, 0));     // A in slots 0..39
            m.forward(sequence(b, 128));   // B in slots 128..157
            // A and B decode one token each: rows 0 and 1, every row a decoding one
            ForwardBatch alone = new ForwardBatch(new int[] {11, 12}, new int[] {40, 30}, new int[] {40, 158},
                    new int[] {0, 1}, new int[] {1, 1}, new int[][] {slots(0, 41), slots(128, 31)}, new int[] {0, 1});
            float[] decoded = m.forward(alone);   // [2, V]
            // the same two decode steps after a 10-token prefill chunk of C (slots 256..265): rows 10 and 11
            int[] ids = new int[12];
            int[] pos = new int[12];
            int[] slot = new int[12];
            for (int i = 0; i < 10; i++) {
                ids[i] = c[i];
                pos[i] = i;
                slot[i] = 256 + i;
            }
            ids[10] = 11;
            pos[10] = 40;
            slot[10] = 40;
            ids[11] = 12;
            pos[11] = 30;
            slot[11] = 158;
            ForwardBatch beside = new ForwardBatch(ids, pos, slot, new int[] {0, 10, 11}, new int[] {10, 1, 1},
                    new int[][] {slots(256, 10), slots(0, 41), slots(128, 31)}, new int[] {10, 11});
            float[] mixed = m.forward(beside);   // [2, V]
            if (m.nativeBf16Gemm()) {
                assertThat(mixed).as("decode rows beside a prefill chunk, bit for bit").containsExactly(decoded);
            } else {
                assertThat(PagedAttentionTest.maxDiff(mixed, decoded)).as("max |Δlogit|").isLessThanOrEqualTo(0.1);
            }
            int v = decoded.length / 2;
            for (int r = 0; r < 2; r++) {
                assertThat(LlamaModelParityIT.argmax(mixed, r * v)).as("row %d argmax", r)
                        .isEqualTo(LlamaModelParityIT.argmax(decoded, r * v));
            }
        }
    }

    /**
     * Prefill chunks attended through the native decode-attention kernel, a query per row (the fixture's head dim of
     * 16 takes the kernel's generic body; the bound is set here), give the script's logits
     * within the bf16 parity tolerance and its greedy tokens: a chunk after 60 cached tokens beside a second
     * sequence's whole prompt, all rows' logits, with each instruction set this CPU has; every row in one call, and
     * only the sequence whose context is within the bound.
     */
    @Test
    void prefillChunksAttendNativelyLikeTheScript() {
        withEachIsa((isa, m) -> {
            if (isa == NativeKernels.Isa.AVX512_BF16) {
                assertThat(m.nativePrefillContext()).as("head dim 16 too: a prefill row attends as the decode row it"
                        + " would have been").isEqualTo(CpuKernelSwitches.CPU_NATIVE_PREFILL_GENERIC_MAX_CONTEXT);
            } else {   // loaded on AVX2, or switched to it after the load: its generic body's bound either way
                assertThat(m.nativePrefillContext()).as("AVX2, head dim 16: the generic body, never").isZero();
            }
            int[] a = IntStream.range(0, 100).map(i -> (i * 53 + 7) % 700 + 1).toArray();
            int[] b = IntStream.range(0, 37).map(i -> (i * 29 + 11) % 700 + 1).toArray();
            // the script; every row in one native call; B natively beside A by the script (A's 100 tokens past 80)
            int[] limits = {0, 1 << 20, 80};
            float[][] logits = new float[limits.length][];
            for (int mode = 0; mode < limits.length; mode++) {
                m.nativePrefillContext(limits[mode]);
                m.forward(sequence(Arrays.copyOf(a, 60), 0));   // A's first 60 tokens in slots 0..59
                int[] ids = new int[40 + 37];
                int[] pos = new int[ids.length];
                int[] slot = new int[ids.length];
                for (int i = 0; i < 40; i++) {   // A's last 40 tokens: rows 0..39
                    ids[i] = a[60 + i];
                    pos[i] = 60 + i;
                    slot[i] = 60 + i;
                }
                for (int i = 0; i < 37; i++) {   // B's whole prompt in slots 128..164: rows 40..76
                    ids[40 + i] = b[i];
                    pos[40 + i] = i;
                    slot[40 + i] = 128 + i;
                }
                logits[mode] = m.forward(new ForwardBatch(ids, pos, slot, new int[] {0, 40}, new int[] {40, 37},
                        new int[][] {slots(0, 100), slots(128, 37)}, IntStream.range(0, ids.length).toArray()));
            }
            for (int mode = 1; mode < limits.length; mode++) {
                assertThat(PagedAttentionTest.maxDiff(logits[mode], logits[0])).as("%s limit %d: max |Δlogit|", isa,
                        limits[mode]).isLessThanOrEqualTo(0.1);
                int v = logits[0].length / 77;
                for (int r : new int[] {39, 76}) {   // the last row of each sequence: its next token
                    assertThat(LlamaModelParityIT.argmax(logits[mode], r * v)).as("%s limit %d row %d argmax", isa,
                            limits[mode], r).isEqualTo(LlamaModelParityIT.argmax(logits[0], r * v));
                }
            }
        });
    }

    /**
     * Runs {@code body} on the tiny fixture loaded in bf16, once per instruction set this CPU has (AVX-512 BF16, AVX2);
     * skips, saying why, where the native kernels are not built.
     */
    private static void withEachIsa(BiConsumer<NativeKernels.Isa, LlamaModel> body) {
        Assumptions.assumeTrue(NativeKernels.load(), () -> "native kernels " + NativeKernels.status());
        for (NativeKernels.Isa isa : new NativeKernels.Isa[] {NativeKernels.Isa.AVX512_BF16, NativeKernels.Isa.AVX2}) {
            try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                    new ModelOptions("cpu", "bfloat16", 512, 128), LoadListener.NONE)) {
                if (m.nativeKernelsIsa(isa)) {   // else this CPU lacks it
                    body.accept(isa, m);
                }
            }
        }
    }

    /** One sequence of {@code ids} prefilled from position 0 into slots {@code base ..} (base a whole page). */
    private static ForwardBatch sequence(int[] ids, int base) {
        int[] pos = IntStream.range(0, ids.length).toArray();
        int[] s = slots(base, ids.length);
        return new ForwardBatch(ids, pos, s, new int[] {0}, new int[] {ids.length}, new int[][] {s},
                new int[] {ids.length - 1});
    }

    private static int[] slots(int base, int n) {
        return IntStream.range(base, base + n).toArray();
    }
}
