package dev.llamaserve.engine.core;

import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.testing.FakeArgmaxLm;

/**
 * The engine contract against the fake model that picks its rows' argmaxes itself, as the real one does: every
 * greedy step without logprobs, bias, penalties or grammar takes the model's argmaxes instead of its logits.
 */
class FakeArgmaxModelEngineTest extends FakeModelEngineTest {

    @Override
    protected CausalLm newModel() {
        return new FakeArgmaxLm(VOCAB, 8704, EOS);
    }
}
