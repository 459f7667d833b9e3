package dev.llamaserve.engine.core;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineException;
import dev.llamaserve.engine.EngineState;
import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.InvalidRequestException;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.ValidatedRequest;
import dev.llamaserve.engine.grammar.GrammarMatcher;
import dev.llamaserve.engine.kv.BlockHasher;
import dev.llamaserve.engine.kv.BlockManager;
import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.runner.ModelRunner;
import dev.llamaserve.engine.sampling.SamplerWorkspace;
import dev.llamaserve.engine.sampling.SamplingConfig;
import dev.llamaserve.engine.sampling.SamplingDefaults;
import dev.llamaserve.engine.scheduler.Scheduler;
import dev.llamaserve.engine.scheduler.SchedulerConfig;
import dev.llamaserve.engine.scheduler.SchedulerOutput;
import dev.llamaserve.engine.scheduler.Sequence;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The serving engine: one engine thread owns the scheduler, the KV block tables and every request's
 * state. Each {@link #step()} reads schedule → {@code runner.execute} → {@code outputs.update}: the
 * scheduler picks decodes plus prefill chunks under the token budget, the runner runs the model once for
 * the whole batch, and the {@link OutputProcessor} samples, detokenizes, stops and finishes requests.
 * Callers only enqueue (submit, abort) and read (event streams, stats): there are no locks around the
 * scheduler. Requests are checked by {@link GenerationRequest#validate}; the engine adds only what it alone
 * knows (KV capacity, the waiting queue, duplicate ids).
 *
 * <p>Construction: {@code LlmEngine.start(model, detokenizer, modelInfo, EngineOptions.defaults())}.
 * The engine takes ownership of the model and closes it in {@link #close()}.
 */
public final class LlmEngine implements InferenceEngine {

    private static final Logger LOG = LoggerFactory.getLogger(LlmEngine.class);

    /**
     * How long {@link #close()} waits past the drain deadline for the step in progress, after which it ends the
     * streams itself ({@link #endOpenStreams}): a decode step of a batch takes well under this.
     */
    public static final long STEP_PAST_DEADLINE_MILLIS = 2_000;

    private final CausalLm model;
    private final Detokenizer detokenizer;
    private final ModelInfo modelInfo;
    private final SamplingDefaults defaults;
    private final EngineOptions options;
    private final BlockManager kv;
    private final Scheduler scheduler;
    private final ModelRunner runner;
    private final RequestTable requests;
    private final StatsRecorder stats;
    private final OutputProcessor outputs;
    private final TokenMasks masks;
    private final ExecutorService delivery;
    private final Thread thread;

    private final AtomicReference<EngineState> state = new AtomicReference<>(EngineState.LOADING);
    private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    private volatile boolean stopRequested;
    /** Set by the engine thread as it exits, before its last look at the inbox. */
    private volatile boolean terminated;
    private volatile long drainDeadline;

    // Engine thread only.
    private int consecutiveFailures;
    private long nextSequenceId;
    /** The request {@link #admit} is creating sequences for, until it returns (engine thread only). */
    private RequestState admitting;

    private record Abort(RequestState state) {}

    /** An engine whose sampling defaults are those {@link ModelInfo} carries (no top_k default). */
    public LlmEngine(CausalLm model, Detokenizer detokenizer, ModelInfo modelInfo, EngineOptions options) {
        this(model, detokenizer, modelInfo, SamplingDefaults.of(modelInfo), options);
    }

    /**
     * @param model the loaded model with its KV pool; the engine owns it from now on and closes it
     * @param detokenizer the model's tokenizer, for incremental decoding of each request's output
     * @param modelInfo context length, vocabulary, eos ids and defaults, as callers see them
     * @param defaults the generation-config defaults a request's unset parameters take
     * @param options the {@code llm.engine.*} settings
     */
    public LlmEngine(CausalLm model, Detokenizer detokenizer, ModelInfo modelInfo, SamplingDefaults defaults,
            EngineOptions options) {
        this.model = model;
        this.detokenizer = detokenizer;
        this.modelInfo = modelInfo;
        this.defaults = defaults;
        this.options = options;
        int slots = options.kvTokenBudget() == 0 ? model.kvSlots() : Math.min(options.kvTokenBudget(), model.kvSlots());
        int blocks = slots / options.blockSize();
        if (blocks < 1) {
            throw new IllegalArgumentException("KV pool of " + slots + " slots holds no block of "
                    + options.blockSize() + " tokens");
        }
        this.kv = new BlockManager(blocks, options.blockSize(), options.prefixCaching(), BlockHasher.DEFAULT);
        this.scheduler = new Scheduler(new SchedulerConfig(options.maxNumBatchedTokens(), options.maxNumSeqs(),
                Math.max(1, model.maxChunkTokens())), kv);
        this.runner = new ModelRunner(model, kv, modelInfo.vocabSize());
        this.requests = new RequestTable(options.maxWaiting());
        this.stats = new StatsRecorder(scheduler, kv);
        this.outputs = new OutputProcessor(scheduler, requests, stats, new SamplerWorkspace(runner.vocabSize()),
                options.maxBufferedEvents(), modelInfo.eosTokenId());
        this.masks = new TokenMasks(detokenizer, modelInfo.vocabSize(), defaults.eosTokenIds());
        AtomicInteger n = new AtomicInteger();
        this.delivery = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "llm-engine-delivery-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.thread = new Thread(this::loop, "llm-engine");
        this.thread.setDaemon(true);
    }

    /** Builds an engine and starts its thread. */
    public static LlmEngine start(CausalLm model, Detokenizer detokenizer, ModelInfo modelInfo, EngineOptions options) {
        return new LlmEngine(model, detokenizer, modelInfo, options).start();
    }

    /** Builds an engine with explicit generation-config defaults and starts its thread. */
    public static LlmEngine start(CausalLm model, Detokenizer detokenizer, ModelInfo modelInfo,
            SamplingDefaults defaults, EngineOptions options) {
        return new LlmEngine(model, detokenizer, modelInfo, defaults, options).start();
    }

    /** Starts the engine thread; the engine becomes {@link EngineState#READY}. */
    public synchronized LlmEngine start() {
        if (state.compareAndSet(EngineState.LOADING, EngineState.READY)) {
            thread.start();
        }
        return this;
    }

    public EngineOptions options() {
        return options;
    }

    @Override
    public Flow.Publisher<EngineEvent> submit(GenerationRequest request) {
        return submit(request, delivery);
    }

    @Override
    public void checkAccepting() {
        EngineState s = state.get();
        if (s != EngineState.READY) {
            throw unavailable(s);
        }
        requests.checkRoom();
    }

    @Override
    public Flow.Publisher<EngineEvent> submit(GenerationRequest request, Executor deliverOn) {
        EngineState s = state.get();
        if (s != EngineState.READY) {
            throw unavailable(s);
        }
        ValidatedRequest checked = request.validate(modelInfo);
        checkKvCapacity(checked);
        SamplingConfig sampling = SamplingConfig.resolve(request.params(), defaults, checked.maxTokens());
        RequestState[] holder = new RequestState[1];
        EventStream stream = new EventStream(deliverOn == null ? delivery : deliverOn, options.maxBufferedEvents(),
                () -> requestAbort(holder[0]));
        RequestState rs = new RequestState(request, sampling, stream);
        rs.grammar = checked.grammar();
        holder[0] = rs;
        requests.add(rs);
        inbox.add(rs);
        if (terminated && inbox.remove(rs)) {
            // The engine thread exited between the state check and the enqueue: nobody would serve it.
            requests.undoAdd(rs);
            throw unavailable(state.get());
        }
        return stream;
    }

    /** What only the engine knows: the sequence must fit the KV pool (its last token's K/V is never computed). */
    private void checkKvCapacity(ValidatedRequest r) {
        int slots = r.maxSequenceLength() - 1;
        if (kv.blocksFor(slots) > kv.totalBlocks()) {
            throw new InvalidRequestException(r.request().names().maxTokens(), InvalidRequestException.KV_CACHE_EXCEEDED,
                    "prompt + " + r.request().names().maxTokens() + " = " + r.maxSequenceLength()
                            + " tokens exceeds the KV cache of " + (long) kv.totalBlocks() * kv.blockSize() + " tokens");
        }
    }

    private static EngineException.Unavailable unavailable(EngineState s) {
        return new EngineException.Unavailable(s, "engine is " + s.name().toLowerCase(Locale.ROOT));
    }

    @Override
    public boolean abort(String requestId) {
        RequestState rs = requests.get(requestId);
        if (rs == null) {
            return false;
        }
        requestAbort(rs);
        return true;
    }

    private void requestAbort(RequestState rs) {
        rs.abortRequested = true;
        inbox.add(new Abort(rs));
    }

    @Override
    public EngineStats stats() {
        return stats.stats(state.get(), requests.notAdmitted());
    }

    @Override
    public ModelInfo modelInfo() {
        return modelInfo;
    }

    @Override
    public Detokenizer detokenizer() {
        return detokenizer;
    }

    /**
     * What grammar-constrained decoding costs the engine thread, as totals since start (for benchmarks): the
     * per-sequence mask lookups before sampling, against whole steps.
     *
     * @param masks tokens sampled under a grammar (one per constrained sequence per step)
     * @param maskNanos time spent on their grammar work: the mask before sampling and the accept, which
     *     computes the next state's mask
     * @param steps engine steps timed
     * @param stepNanos time of those steps (schedule, forward pass, sampling, outputs)
     */
    public record MaskCost(long masks, long maskNanos, long steps, long stepNanos) {

        /** Mean grammar time per token per sequence, in microseconds. */
        public double microsPerToken() {
            return masks == 0 ? 0 : maskNanos / 1e3 / masks;
        }

        /** The masks' share of the step time. */
        public double fractionOfStep() {
            return stepNanos == 0 ? 0 : (double) maskNanos / stepNanos;
        }
    }

    /** Grammar mask time against step time since start. */
    public MaskCost maskCost() {
        return stats.maskCost();
    }

    /** KV-cache blocks in the pool (the size of one block is {@link EngineOptions#blockSize()}). */
    public int kvBlocksTotal() {
        return kv.totalBlocks();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (state.get() == EngineState.LOADING) {
                state.set(EngineState.DRAINING);
                model.close();
                delivery.shutdown();
                return;
            }
            state.compareAndSet(EngineState.READY, EngineState.DRAINING);
            if (stopRequested) {
                return;
            }
            drainDeadline = System.nanoTime() + options.drainTimeout().toNanos();
            stopRequested = true;
        }
        inbox.add(Boolean.TRUE); // wake the thread
        try {
            thread.join(options.drainTimeout().toMillis() + STEP_PAST_DEADLINE_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            endOpenStreams();
        }
        delivery.shutdown();
    }

    /**
     * The engine thread is still inside a step that began before the drain deadline (a forward pass is one call
     * and cannot be cut: one prefill chunk of a large model on a CPU takes minutes): every request's stream ends
     * here with the abort the engine thread would have sent, so that clients get their end (an error event and
     * [DONE] over HTTP) and the web server's graceful shutdown is not left waiting on them within the pod's grace
     * period. The streams take the first final event only, so what the engine thread queues after the step is
     * dropped; their token counts are the prompt's only. The KV and the model are the engine thread's, released as
     * it exits after the step.
     */
    private void endOpenStreams() {
        List<RequestState> open = requests.open();
        LOG.warn("a step still running {} ms past the drain deadline: ending {} request(s) without it",
                STEP_PAST_DEADLINE_MILLIS, open.size());
        for (RequestState rs : open) {
            rs.stream.complete(new EngineEvent.Finished(EngineEvent.FinishReason.ABORT,
                    new EngineEvent.Usage(rs.request.promptTokenIds().length, 0, 0), "", null,
                    "engine shut down before the request finished"));
        }
    }

    // ---------------------------------------------------------------- engine thread

    private void loop() {
        try {
            while (true) {
                boolean idle = !scheduler.hasWork();
                Object cmd = idle ? inbox.poll(50, TimeUnit.MILLISECONDS) : inbox.poll();
                while (cmd != null) {
                    handle(cmd);
                    cmd = inbox.poll();
                }
                if (stopRequested) {
                    if (!scheduler.hasWork()) {
                        break;
                    }
                    if (System.nanoTime() - drainDeadline > 0) {
                        outputs.finishAll(EngineEvent.FinishReason.ABORT, "engine shut down before the request finished");
                        break;
                    }
                }
                if (state.get() == EngineState.FAILED || !scheduler.hasWork()) {
                    stats.publish();
                    continue;
                }
                step();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            state.set(EngineState.FAILED);   // first: logging may fail too (an OutOfMemoryError)
            LOG.error("engine thread failed", t);
            if (admitting != null) {   // failed while being admitted: its sequences are not the scheduler's
                outputs.finish(admitting, EngineEvent.FinishReason.ERROR, "engine failed: " + t);
            }
            outputs.finishAll(EngineEvent.FinishReason.ERROR, "engine failed: " + t);
        } finally {
            if (!stopRequested) {   // ended without close(), whatever ended it: nothing serves requests any more
                state.set(EngineState.FAILED);
            }
            terminated = true;
            // Requests that slipped into the inbox after the last check.
            Object cmd;
            while ((cmd = inbox.poll()) != null) {
                if (cmd instanceof RequestState rs) {
                    admit(rs);
                }
            }
            outputs.finishAll(EngineEvent.FinishReason.ABORT, "engine closed");
            stats.publish();
            try {
                model.close();
            } catch (RuntimeException e) {
                LOG.warn("closing the model failed", e);
            }
        }
    }

    private void handle(Object cmd) {
        if (cmd instanceof RequestState rs) {
            admit(rs);
            if (state.get() == EngineState.FAILED) {
                outputs.finish(rs, EngineEvent.FinishReason.ERROR, "engine failed");
            } else if (rs.abortRequested) {
                outputs.finish(rs, EngineEvent.FinishReason.ABORT, null);
            }
        } else if (cmd instanceof Abort a) {
            if (a.state().choices != null) {
                outputs.finish(a.state(), EngineEvent.FinishReason.ABORT, null); // all n choices
            }
        }
    }

    /**
     * Creates the request's sequences, one per choice, each with its sampler (choice {@code i} seeded
     * {@code seed + i}), decoder and stop matcher, and queues them in the scheduler: choice 0 first, the others
     * as its siblings, admitted once it has computed the prompt so that they share the prompt's KV blocks.
     */
    private void admit(RequestState rs) {
        if (rs.choices != null) {
            return;
        }
        admitting = rs;
        createSequences(rs);
        admitting = null;
    }

    /** {@link #admit}'s work: the request gets its choices only once each is made, so a failure leaves it unadmitted. */
    private void createSequences(RequestState rs) {
        int n = rs.request.params().choices();
        GrammarMatcher[] matchers = new GrammarMatcher[n];
        if (rs.grammar != null) {
            try {
                for (int i = 0; i < n; i++) {
                    matchers[i] = masks.matcher(rs.grammar);
                }
            } catch (RuntimeException e) {   // no token trie: this request fails, not the engine and every request
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                outputs.finish(rs, EngineEvent.FinishReason.ERROR, "constrained decoding is unavailable: " + cause);
                return;
            }
        }
        SequenceState[] choices = new SequenceState[n];
        long arrival = nextSequenceId;
        for (int i = 0; i < n; i++) {
            long id = nextSequenceId++;
            Sequence seq = new Sequence(id, rs.request.requestId(), arrival, rs.request.promptTokenIds());
            SamplingConfig sampling = n == 1 ? rs.sampling : rs.sampling.withSeed(rs.request.params().choiceSeed(i));
            choices[i] = new SequenceState(rs, i, sampling, seq, detokenizer.newDecoder());
            choices[i].matcher = matchers[i];
        }
        rs.choices = choices;
        rs.unfinished = n;
        requests.admitted(rs);
        scheduler.add(rs.choices[0].sequence);
        for (int i = 1; i < n; i++) {
            scheduler.add(rs.choices[i].sequence, rs.choices[0].sequence);
        }
    }

    /** One engine step: schedule → runner.execute → outputs.update. */
    private void step() {
        stats.stepStarted();
        SchedulerOutput out = scheduler.schedule();
        stats.preempted(out.preempted().size());
        for (Sequence admitted : out.admitted()) {
            stats.cacheLookup(admitted.promptLength(), admitted.cachedPromptTokens());
        }
        requests.scheduled(out.admitted());
        stats.stepScheduled(out.totalTokens());
        stats.publish(); // while the model runs, stats count this step's admissions as running
        if (out.isEmpty()) {
            idleBriefly(); // work exists but nothing fits (cannot happen for validated requests): do not spin
            return;
        }
        ModelRunner.StepLogits logits;
        try {
            logits = runner.execute(out, outputs.argmaxOnly(out));
            consecutiveFailures = 0;
        } catch (Throwable t) {
            forwardPassFailed(out, t);
            stats.stepDone(out.scheduled().size());
            return;
        }
        scheduler.complete(out);
        stats.computed(out.totalTokens());
        outputs.update(out, logits);
        stats.stepDone(out.scheduled().size());
    }

    private void forwardPassFailed(SchedulerOutput out, Throwable t) {
        consecutiveFailures++;
        LOG.error("forward pass failed for a batch of " + out.scheduled().size() + " sequences", t);
        String message = "model forward pass failed: " + t;
        outputs.failBatch(out, message);
        if (t instanceof Error || consecutiveFailures >= options.maxConsecutiveFailures()) {
            state.set(EngineState.FAILED);
            outputs.finishAll(EngineEvent.FinishReason.ERROR, "engine failed: " + message);
        }
    }

    private void idleBriefly() {
        stats.publish();
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
