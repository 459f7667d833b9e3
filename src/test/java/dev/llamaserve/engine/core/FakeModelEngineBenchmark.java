package dev.llamaserve.engine.core;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.testing.FakeCausalLm;
import dev.llamaserve.engine.testing.FakeDetokenizer;
import java.util.List;
import java.util.Set;

/**
 * The engine's own overhead (scheduling, sampling over a 128k vocabulary, events) with a model that
 * costs almost nothing. Tagged bench through its parent; not part of the default build.
 */
class FakeModelEngineBenchmark extends EngineBenchmark {

    static final int VOCAB = 128_256;

    @Override
    protected CausalLm newModel() {
        return new FakeCausalLm(VOCAB, 65_536, List.of(128_001, 128_008, 128_009));
    }

    @Override
    protected Detokenizer detokenizer() {
        return new FakeDetokenizer(Set.of(128_001, 128_008, 128_009));
    }

    @Override
    protected ModelInfo modelInfo() {
        return new ModelInfo(8192, VOCAB, Set.of(128_001, 128_008, 128_009), 0.6, 0.9, false, null);
    }

    @Override
    protected int[] prompt(int length, int salt) {
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = 256 + Math.floorMod(salt * 7919 + i * 104_729, 100_000);
        }
        return p;
    }
}
