package dev.llamaserve.engine.runner;

import dev.llamaserve.engine.kv.BlockManager;
import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.model.ForwardBatch;
import dev.llamaserve.engine.scheduler.SchedulerOutput;
import dev.llamaserve.engine.scheduler.Sequence;
import java.util.List;

/**
 * Turns a scheduler step into one {@link CausalLm#forward} call: the new tokens of all scheduled
 * sequences laid out one after another, their KV slots from the block tables, and logits requested
 * only for the last row of each sequence whose chunk reaches its end (a prefill chunk that leaves more
 * prompt to compute samples nothing).
 */
public final class ModelRunner {

    private final CausalLm model;
    private final BlockManager kv;
    private final int vocabSize;
    private final int textVocab;
    private float[] lastLogits;   // the previous step's, read by then: the next step of as many rows writes into it

    public ModelRunner(CausalLm model, BlockManager kv) {
        this(model, kv, model.config().vocabSize());
    }

    /**
     * @param textVocab the ids the tokenizer has text for: a padded vocabulary's rows past them (config.json
     *     vocab_size above the tokenizer's) get logit -inf, so they are never sampled nor listed in logprobs, as
     *     vLLM and transformers slice them off
     */
    public ModelRunner(CausalLm model, BlockManager kv, int textVocab) {
        this.model = model;
        this.kv = kv;
        this.vocabSize = model.config().vocabSize();
        this.textVocab = Math.min(textVocab, vocabSize);
        long slots = (long) kv.totalBlocks() * kv.blockSize();
        if (slots > model.kvSlots()) {
            throw new IllegalArgumentException("block pool of " + slots + " slots exceeds the model's KV pool of "
                    + model.kvSlots() + " slots");
        }
        if (kv.blockSize() % model.kvBlockSize() != 0) {
            throw new IllegalArgumentException("KV block size " + kv.blockSize() + " is not a multiple of the model's"
                    + " KV page size " + model.kvBlockSize() + " (llm.engine.block-size)");
        }
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** Builds the batch for a step (exposed for tests). */
    public ForwardBatch buildBatch(SchedulerOutput out) {
        List<SchedulerOutput.Scheduled> scheduled = out.scheduled();
        int b = scheduled.size();
        int t = out.totalTokens();
        int[] tokenIds = new int[t];
        int[] positions = new int[t];
        int[] slotMapping = new int[t];
        int[] queryStart = new int[b];
        int[] queryLen = new int[b];
        int[][] contextSlots = new int[b][];
        int rows = 0;
        for (SchedulerOutput.Scheduled s : scheduled) {
            if (s.samples()) {
                rows++;
            }
        }
        int[] logitRows = new int[rows];
        int row = 0;
        int r = 0;
        for (int i = 0; i < b; i++) {
            SchedulerOutput.Scheduled s = scheduled.get(i);
            Sequence seq = s.sequence();
            int end = s.start() + s.numTokens();
            queryStart[i] = row;
            queryLen[i] = s.numTokens();
            for (int p = s.start(); p < end; p++) {
                tokenIds[row + p - s.start()] = seq.tokenAt(p);
                positions[row + p - s.start()] = p;
            }
            kv.fillSlots(seq.id(), s.start(), end, slotMapping, row);
            contextSlots[i] = kv.slots(seq.id(), end);
            row += s.numTokens();
            if (s.samples()) {
                logitRows[r++] = row - 1;
            }
        }
        return new ForwardBatch(tokenIds, positions, slotMapping, queryStart, queryLen, contextSlots, logitRows);
    }

    /**
     * Runs the step; exceptions from the model propagate. The returned logits are valid until the next call (a
     * step of as many logit rows reuses their array).
     */
    public StepLogits execute(SchedulerOutput out) {
        return execute(out, false);
    }

    /**
     * As {@link #execute(SchedulerOutput)}; where {@code argmaxOnly} (every sampled row's next token is its greatest
     * logit: the caller knows its samplers) and the model picks argmaxes itself ({@link CausalLm#argmaxInForward}),
     * the step returns each row's argmax over the ids with text instead of its logits.
     */
    public StepLogits execute(SchedulerOutput out, boolean argmaxOnly) {
        ForwardBatch batch = buildBatch(out);
        int[] rowOf = new int[out.scheduled().size()];
        int r = 0;
        for (int i = 0; i < rowOf.length; i++) {
            rowOf[i] = out.scheduled().get(i).samples() ? r++ : -1;
        }
        if (argmaxOnly && r > 0 && model.argmaxInForward()) {
            int[] ids = model.forwardArgmax(batch, textVocab);
            if (ids.length != r) {
                throw new IllegalStateException("model returned " + ids.length + " argmaxes for " + r + " rows");
            }
            return new StepLogits(null, vocabSize, rowOf, ids);
        }
        float[] logits = model.forward(batch, lastLogits);
        lastLogits = logits;
        if (logits.length != batch.logitRows().length * vocabSize) {
            throw new IllegalStateException("model returned " + logits.length + " logits for "
                    + batch.logitRows().length + " rows of vocabulary " + vocabSize);
        }
        if (textVocab < vocabSize) {
            for (int row = 0; row < batch.logitRows().length; row++) {
                // [rows × vocabSize]: ids [textVocab, vocabSize) of each row
                java.util.Arrays.fill(logits, row * vocabSize + textVocab, (row + 1) * vocabSize,
                        Float.NEGATIVE_INFINITY);
            }
        }
        return new StepLogits(logits, vocabSize, rowOf, null);
    }

    /**
     * The step's logits, or its rows' argmaxes.
     *
     * @param logits {@code [rows × vocabSize]}; null where the step returned argmaxes
     * @param rowOfScheduled for each scheduled sequence (same order), its logits row or -1
     * @param argmax {@code [rows]}: each row's greatest logit's id, where the step returned these instead of logits
     *     ({@link #execute(SchedulerOutput, boolean)}); else null
     */
    public record StepLogits(float[] logits, int vocabSize, int[] rowOfScheduled, int[] argmax) {
        /** Offset of scheduled sequence {@code i}'s row in {@link #logits}, or -1. */
        public int offset(int i) {
            int row = rowOfScheduled[i];
            return row < 0 ? -1 : row * vocabSize;
        }

        /** Scheduled sequence {@code i}'s argmax (only where {@link #argmax} is not null). */
        public int argmaxOf(int i) {
            return argmax[rowOfScheduled[i]];
        }
    }
}
