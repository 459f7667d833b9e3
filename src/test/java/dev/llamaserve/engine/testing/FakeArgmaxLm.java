package dev.llamaserve.engine.testing;

import dev.llamaserve.engine.model.ForwardBatch;
import dev.llamaserve.engine.sampling.Sampler;
import java.util.List;

/**
 * {@link FakeCausalLm} that picks its rows' argmaxes itself, as the real model's step does ({@code forwardArgmax}):
 * the first greatest of each row's first {@code width} logits, so that the engine's greedy steps take that path
 * against the fake too.
 */
public final class FakeArgmaxLm extends FakeCausalLm {

    public FakeArgmaxLm(int vocabSize, int kvSlots, List<Integer> eos) {
        super(vocabSize, kvSlots, eos);
    }

    @Override
    public boolean argmaxInForward() {
        return true;
    }

    @Override
    public int[] forwardArgmax(ForwardBatch batch, int width) {
        float[] logits = forward(batch);   // [R, V]
        int vocab = config().vocabSize();
        int[] ids = new int[batch.logitRows().length];
        for (int r = 0; r < ids.length; r++) {
            ids[r] = Sampler.argmax(logits, r * vocab, width);
        }
        return ids;
    }
}
