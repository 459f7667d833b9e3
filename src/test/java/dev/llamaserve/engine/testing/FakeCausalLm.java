package dev.llamaserve.engine.testing;

import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.model.ForwardBatch;
import dev.llamaserve.engine.model.ModelConfig;
import dev.llamaserve.engine.model.RopeScaling;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A deterministic stand-in for the real model (tests only). It keeps its own "KV cache": each slot
 * records the token id and position written there. A logits row is computed only from what it reads
 * through {@code contextSlots} (positions 0..p for the row at position p), so a wrong slot mapping, a
 * block shared by two sequences, or a preempted sequence whose KV was not recomputed either throws
 * (a slot holds the wrong position or nothing) or changes the logits. Logits are pseudo-random in the
 * hash of the context's tokens; {@link Script} instead makes them peak at given tokens.
 */
public class FakeCausalLm implements CausalLm {

    /** Optional: the next token to favour after a context, or -1 for none. */
    public interface Script {
        int next(int[] context);
    }

    private static final long EMPTY = Long.MIN_VALUE;

    private final ModelConfig config;
    private final long[] kv;
    private final float scale;
    private final Script script;
    private volatile boolean closed;

    public FakeCausalLm(int vocabSize, int kvSlots, List<Integer> eos, float scale, Script script) {
        this.config = new ModelConfig("LlamaForCausalLM", 64, 2, 4, 2, 16, 128, 1e-5, 500000.0, RopeScaling.NONE,
                131072, false, vocabSize, null, eos, "float32");
        this.kv = new long[kvSlots];
        Arrays.fill(kv, EMPTY);
        this.scale = scale;
        this.script = script;
    }

    public FakeCausalLm(int vocabSize, int kvSlots, List<Integer> eos) {
        this(vocabSize, kvSlots, eos, 3.0f, null);
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public int kvSlots() {
        return kv.length;
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public float[] forward(ForwardBatch batch) {
        return forward(batch, null);
    }

    /** As the real model: into {@code reuse} where it has exactly the logits' length (engine tests then see reuse). */
    @Override
    public float[] forward(ForwardBatch batch, float[] reuse) {
        if (closed) {
            throw new IllegalStateException("model closed");
        }
        int t = batch.numTokens();
        for (int i = 0; i < t; i++) {
            kv[batch.slotMapping()[i]] = ((long) batch.positions()[i] << 32) | (batch.tokenIds()[i] & 0xffffffffL);
        }
        int vocab = config.vocabSize();
        int n = batch.logitRows().length * vocab;
        float[] out = CausalLm.logitsArray(reuse, n);
        for (int r = 0; r < batch.logitRows().length; r++) {
            int row = batch.logitRows()[r];
            int b = sequenceOf(batch, row);
            int pos = batch.positions()[row];
            int[] slots = batch.contextSlots()[b];
            if (slots.length < pos + 1) {
                throw new IllegalStateException("context of " + slots.length + " slots for a row at position " + pos);
            }
            int[] context = new int[pos + 1];
            long h = 0x9E3779B97F4A7C15L;
            for (int p = 0; p <= pos; p++) {
                long e = kv[slots[p]];
                if (e == EMPTY || (int) (e >>> 32) != p) {
                    throw new IllegalStateException("slot " + slots[p] + " does not hold position " + p);
                }
                context[p] = (int) e;
                h = mix(h ^ (int) e);
            }
            SplittableRandom rnd = new SplittableRandom(h);
            for (int v = 0; v < vocab; v++) {
                out[r * vocab + v] = (float) (rnd.nextGaussian() * scale);
            }
            if (script != null) {
                int next = script.next(context);
                if (next >= 0) {
                    out[r * vocab + next] += 100f;
                }
            }
        }
        return out;
    }

    private static int sequenceOf(ForwardBatch batch, int row) {
        for (int b = 0; b < batch.numSequences(); b++) {
            if (row >= batch.queryStart()[b] && row < batch.queryStart()[b] + batch.queryLen()[b]) {
                return b;
            }
        }
        throw new IllegalStateException("row " + row + " belongs to no sequence");
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public void close() {
        closed = true;
    }
}
