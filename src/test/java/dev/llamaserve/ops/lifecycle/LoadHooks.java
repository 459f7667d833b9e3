package dev.llamaserve.ops.lifecycle;

import dev.llamaserve.config.ModelLoadHooks;
import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.model.LoadListener;
import dev.llamaserve.engine.testing.ControlledLm;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Test seams of the real background load: the weight load stops at its first tensor until
 * {@link #releaseLoad} (a deliberately slowed load), and the loaded model runs inside a {@link ControlledLm}
 * that starts gated, so the warm-up's forward pass waits until the test lets it run, and that can inject
 * forward-pass failures.
 */
final class LoadHooks implements ModelLoadHooks {

    private final CountDownLatch loadReached = new CountDownLatch(1);
    private final CountDownLatch loadGate = new CountDownLatch(1);
    private volatile ControlledLm model;

    @Override
    public LoadListener loadListener() {
        return p -> {
            loadReached.countDown();
            try {
                loadGate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    @Override
    public CausalLm decorate(CausalLm loaded) {
        model = new ControlledLm(loaded).gated(true);
        return model;
    }

    boolean awaitLoadReached(long seconds) throws InterruptedException {
        return loadReached.await(seconds, TimeUnit.SECONDS);
    }

    void releaseLoad() {
        loadGate.countDown();
    }

    /** The model the engine runs; null until the weights are loaded. */
    ControlledLm model() {
        return model;
    }
}
