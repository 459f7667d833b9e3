package dev.llamaserve.ops.lifecycle;

import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineException;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.ops.health.ProbePaths;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationContext;
import org.springframework.context.ApplicationContextAware;
import org.springframework.context.ApplicationListener;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.ContextClosedEvent;

/**
 * The service's life around the model: the web server starts first; then ({@link #start}) the model loads
 * on a background thread, one warm-up generation runs through the real engine, and only then the phase is
 * {@link ServingPhase#READY}. A load or warm-up failure makes the phase {@link ServingPhase#FAILED} and is
 * handed to the failure handler (which reports it and exits). On shutdown (the context's
 * {@link ContextClosedEvent}, published before any lifecycle bean stops, so while the web server still
 * serves) the phase turns {@link ServingPhase#DRAINING} at once and the engine is closed: it refuses new
 * requests, lets running ones finish within its drain timeout, then ends the rest; only then the web server
 * shuts down. Stopping the lifecycle without closing the context (a paused test context) does not drain.
 *
 * <p>The phase also follows the engine once it serves: an engine that failed (repeated forward-pass
 * failures, a JVM error) makes the phase FAILED.
 */
public final class ModelLifecycle
        implements SmartLifecycle, ApplicationListener<ContextClosedEvent>, ApplicationContextAware {

    private static final Logger log = LoggerFactory.getLogger(ModelLifecycle.class);

    /** Loads the model and starts an engine on it; called once, on the loading thread. */
    @FunctionalInterface
    public interface Loader {
        Loaded load() throws Exception;
    }

    /**
     * @param engine the started engine (owned by the lifecycle from now on)
     * @param warmUpPrompt token ids of the warm-up request's prompt
     */
    public record Loaded(InferenceEngine engine, int[] warmUpPrompt) {}

    private final Loader loader;
    private final Consumer<Throwable> onFailure;
    private final Duration drainTimeout;
    private final AtomicReference<ServingPhase> phase = new AtomicReference<>(ServingPhase.LOADING);
    private final CompletableFuture<InferenceEngine> loaded = new CompletableFuture<>();
    private final AtomicBoolean loadStarted = new AtomicBoolean();
    private volatile InferenceEngine engine;
    private volatile boolean running;
    private ApplicationContext context;

    /**
     * @param loader loads the model and starts the engine
     * @param onFailure called (on the loading thread) with a load or warm-up failure
     * @param drainTimeout how long the engine lets running requests finish on shutdown (for the log)
     */
    public ModelLifecycle(Loader loader, Consumer<Throwable> onFailure, Duration drainTimeout) {
        this.loader = loader;
        this.onFailure = onFailure;
        this.drainTimeout = drainTimeout;
    }

    /** The current phase; READY only while the engine itself serves. */
    public ServingPhase phase() {
        ServingPhase p = phase.get();
        InferenceEngine e = engine;
        if (p != ServingPhase.READY || e == null) {
            return p;
        }
        return switch (e.stats().state()) {
            case FAILED -> ServingPhase.FAILED;
            case DRAINING -> ServingPhase.DRAINING;
            default -> ServingPhase.READY;
        };
    }

    /** The loaded engine, or null while loading (or after the load failed). */
    public InferenceEngine engine() {
        return engine;
    }

    /** The refusal for a request that arrives in {@code p} (not READY): 503 with its code. */
    public static EngineException.Unavailable unavailable(ServingPhase p) {
        return new EngineException.Unavailable(p.engineState(), p.refusal());
    }

    /**
     * Starts the load if it has not started, and waits for it (not for the warm-up): for beans that need the
     * loaded model when they are created.
     *
     * @throws RuntimeException the load's failure
     */
    public InferenceEngine awaitLoaded() {
        beginLoading();
        try {
            return loaded.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r
                    : new IllegalStateException("the model could not be loaded: " + e.getCause(), e.getCause());
        }
    }

    /** Starts loading on a background thread, once. */
    public void beginLoading() {
        if (loadStarted.compareAndSet(false, true)) {
            log.info("Loading the model in the background; {} answers 503 until it is loaded and warmed up",
                    ProbePaths.READYZ);
            Thread t = new Thread(this::loadAndWarmUp, "llm-model-load");
            t.setDaemon(true);
            t.start();
        }
    }

    private void loadAndWarmUp() {
        Loaded l;
        try {
            l = loader.load();
        } catch (Throwable t) {
            fail(t);
            return;
        }
        engine = l.engine();
        loaded.complete(l.engine());
        if (!phase.compareAndSet(ServingPhase.LOADING, ServingPhase.WARMING_UP)) {
            l.engine().close(); // shutdown began while loading
            return;
        }
        try {
            long t0 = System.nanoTime();
            EngineEvent.Finished f = WarmUp.run(l.engine(), l.warmUpPrompt());
            if (phase.compareAndSet(ServingPhase.WARMING_UP, ServingPhase.READY)) {
                log.info("Warm-up generation done in {} ms ({} prompt tokens, finish {}): ready to serve",
                        Duration.ofNanos(System.nanoTime() - t0).toMillis(), f.usage().promptTokens(),
                        f.reason().wireName());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            fail(t);
        }
    }

    private void fail(Throwable t) {
        ServingPhase was = phase.getAndSet(ServingPhase.FAILED);
        loaded.completeExceptionally(t);
        if (was == ServingPhase.DRAINING) {
            log.warn("The model load ended during shutdown: {}", t.toString());
            return;
        }
        onFailure.accept(t);
    }

    /**
     * Turns the phase DRAINING at once (readiness DOWN, new requests refused) and closes the engine: running
     * requests finish within the drain timeout, those still running then end with an error. Idempotent.
     */
    public void drain() {
        ServingPhase was = phase.getAndUpdate(p -> p == ServingPhase.FAILED ? p : ServingPhase.DRAINING);
        InferenceEngine e = engine;
        if (was != ServingPhase.DRAINING && was != ServingPhase.FAILED) {
            log.info("Draining: readiness DOWN, new requests get 503; running requests have up to {} s to finish",
                    drainTimeout.toSeconds());
        }
        if (e != null) {
            e.close();
        }
    }

    /** Drains when this lifecycle's own context closes (not a child's, whose events reach it too). */
    @Override
    public void onApplicationEvent(ContextClosedEvent event) {
        if (event.getApplicationContext() == context) {
            drain();
        }
    }

    @Override
    public void setApplicationContext(ApplicationContext applicationContext) {
        this.context = applicationContext;
    }

    /** Begins the load once the web server has started (this starts after it). */
    @Override
    public void start() {
        running = true;
        beginLoading();
    }

    /** Nothing to stop: the drain belongs to the context's close ({@link #onApplicationEvent}). */
    @Override
    public void stop() {
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Starts last, after the web server. */
    @Override
    public int getPhase() {
        return SmartLifecycle.DEFAULT_PHASE;
    }
}
