package dev.llamaserve.engine.core;

/**
 * Prefix caching (and n) on the real tiny Llama 3.1 checkpoint (float32 on the CPU). The warm run reads the
 * prefix's K/V from shared blocks that an earlier request wrote; the cold run computes them itself (in
 * chunks of the model's chunk limit). Today both give bit-identical logprobs; an attention kernel that sums
 * in another order for another chunking would need a float32-rounding tolerance here.
 */
class RealModelSharedKvIT extends SharedKvContract {

    RealModelSharedKvIT() {
        super(new RealModelEngineIT());
    }

    @Override
    double logprobTolerance() {
        return 0;
    }
}
