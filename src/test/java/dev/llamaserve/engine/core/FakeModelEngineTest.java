package dev.llamaserve.engine.core;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.testing.FakeCausalLm;
import dev.llamaserve.engine.testing.FakeDetokenizer;
import java.util.List;
import java.util.Set;

/**
 * The engine contract against the deterministic fake model and byte-level fake tokenizer (this
 * branch has neither the real model nor the tokenizer). The real-model subclass is added at merge.
 */
class FakeModelEngineTest extends EngineContractTest {

    static final int VOCAB = 600;
    static final List<Integer> EOS = List.of(590, 591, 592);

    @Override
    protected CausalLm newModel() {
        return new FakeCausalLm(VOCAB, 8704, EOS);
    }

    @Override
    protected Detokenizer detokenizer() {
        return new FakeDetokenizer(Set.of(589, 590, 591, 592));
    }

    @Override
    protected ModelInfo modelInfo() {
        return new ModelInfo(8192, VOCAB, Set.copyOf(EOS), 0.6, 0.9, false, null);
    }

    @Override
    protected int[] prompt(int length, int salt) {
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = 256 + Math.floorMod(salt * 131 + i * 17 + (i * i) % 7, 300);
        }
        return p;
    }
}
