package dev.llamaserve.engine.model;

/**
 * A loaded causal language model with its KV-cache pool: what the engine's runner calls once per step.
 * {@link LlamaModel} is the real one; tests may wrap it (fault injection).
 */
public interface CausalLm extends AutoCloseable {

    ModelConfig config();

    /** Token slots in the KV pool (per layer). */
    int kvSlots();

    /**
     * Slots per KV page: the model reads each context in whole pages ({@code slot = page × size + offset}), so
     * the engine's block size must be a multiple of it. 1 (any slot layout) unless the model says otherwise.
     */
    default int kvBlockSize() {
        return 1;
    }

    /** Most new tokens one sequence may carry in one step; the engine chunks prefills to it. */
    default int maxChunkTokens() {
        return Integer.MAX_VALUE;
    }

    /**
     * Runs one step: writes the new tokens' K/V into their slots and returns float32 logits,
     * {@code [batch.logitRows().length * vocabSize]}, row-major.
     */
    float[] forward(ForwardBatch batch);

    /**
     * As {@link #forward(ForwardBatch)}, written into {@code reuse} where its length is exactly the logits' (an
     * earlier step's array the caller no longer reads), else into a new array: a decode step of 16 rows of a
     * 128,256-token vocabulary returns 8 MiB, and a fresh array each step is memory the JVM zeroes and the OS
     * faults in page by page.
     */
    default float[] forward(ForwardBatch batch, float[] reuse) {
        return forward(batch);
    }

    /**
     * Whether {@link #forwardArgmax} runs here: the model picks each row's greatest logit itself, so that a step whose
     * rows all decode greedily returns R ids instead of R x V logits (a 16-row step of a 128,256-token vocabulary:
     * 8 MiB written, copied out and scanned in Java). False unless the model says otherwise.
     */
    default boolean argmaxInForward() {
        return false;
    }

    /**
     * As {@link #forward(ForwardBatch)}, but returns each logits row's argmax over its first {@code width} ids,
     * {@code [batch.logitRows().length]}: the lowest id among equal maxima, as the sampler's greedy argmax. (A NaN
     * logit, which only a broken model gives, is passed over by llama-serve's CPU kernel as by the sampler, and is
     * the greatest for torch.argmax, which a GPU runs.) Only where {@link #argmaxInForward()}.
     */
    default int[] forwardArgmax(ForwardBatch batch, int width) {
        throw new UnsupportedOperationException("this model returns logits only");
    }

    /** The array {@link #forward(ForwardBatch, float[])} writes {@code n} logits into: {@code reuse} or a new one. */
    static float[] logitsArray(float[] reuse, int n) {
        return reuse != null && reuse.length == n ? reuse : new float[n];
    }

    @Override
    void close();
}
