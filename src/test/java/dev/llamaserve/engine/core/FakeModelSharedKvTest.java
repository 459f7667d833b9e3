package dev.llamaserve.engine.core;

/** Prefix caching (and n) on the deterministic fake model: a cached prefix must give bit-identical logits. */
class FakeModelSharedKvTest extends SharedKvContract {

    FakeModelSharedKvTest() {
        super(new FakeModelEngineTest());
    }

    @Override
    double logprobTolerance() {
        return 0;
    }
}
