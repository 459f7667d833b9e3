package dev.llamaserve.engine.core;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineException;
import dev.llamaserve.engine.EngineState;
import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.engine.kv.BlockManager;
import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.runner.ModelRunner;
import dev.llamaserve.engine.sampling.Sampler;
import dev.llamaserve.engine.sampling.SamplerWorkspace;
import dev.llamaserve.engine.sampling.SamplingConfig;
import dev.llamaserve.engine.sampling.SamplingDefaults;
import dev.llamaserve.engine.sampling.StopStrings;
import dev.llamaserve.engine.scheduler.Scheduler;
import dev.llamaserve.engine.scheduler.SchedulerConfig;
import dev.llamaserve.engine.scheduler.SchedulerOutput;
import dev.llamaserve.engine.scheduler.Sequence;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
 * state; each step it schedules (decodes plus prefill chunks under the token budget), runs the model
 * once for the whole batch, samples each finished row with the request's own sampler, and queues the
 * events. Callers only enqueue (submit, abort) and read (event streams, stats): there are no locks
 * around the scheduler.
 *
 * <p>Construction: {@code LlmEngine.start(model, detokenizer, modelInfo, EngineOptions.defaults())}.
 * The engine takes ownership of the model and closes it in {@link #close()}.
 */
public final class LlmEngine implements InferenceEngine {

    private static final Logger LOG = LoggerFactory.getLogger(LlmEngine.class);
    private static final int RECENT_STEPS = 32;

    private final CausalLm model;
    private final Detokenizer detokenizer;
    private final ModelInfo modelInfo;
    private final SamplingDefaults defaults;
    private final EngineOptions options;
    private final BlockManager kv;
    private final Scheduler scheduler;
    private final ModelRunner runner;
    private final SamplerWorkspace workspace;
    private final ExecutorService delivery;
    private final Thread thread;

    private final AtomicReference<EngineState> state = new AtomicReference<>(EngineState.LOADING);
    private final AtomicInteger waitingCount = new AtomicInteger();
    private final ConcurrentHashMap<String, RequestState> active = new ConcurrentHashMap<>();
    private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    private volatile boolean stopRequested;
    /** Set by the engine thread as it exits, before its last look at the inbox. */
    private volatile boolean terminated;
    private volatile long drainDeadline;
    private volatile Snapshot snapshot;

    // Engine thread only.
    private final Map<Long, RequestState> bySequence = new HashMap<>();
    private final int[] recentBatch = new int[RECENT_STEPS];
    private long steps;
    private long preemptions;
    private int consecutiveFailures;
    private long nextSequenceId;

    private record Snapshot(int running, long kvUsed, int lastBatch, int maxRecentBatch, long steps,
            long preemptions) {}

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
        this.kv = new BlockManager(blocks, options.blockSize());
        this.scheduler = new Scheduler(new SchedulerConfig(options.maxNumBatchedTokens(), options.maxNumSeqs(),
                Math.max(1, model.maxChunkTokens())), kv);
        this.runner = new ModelRunner(model, kv);
        this.workspace = new SamplerWorkspace(runner.vocabSize());
        AtomicInteger n = new AtomicInteger();
        this.delivery = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "llm-engine-delivery-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.thread = new Thread(this::loop, "llm-engine");
        this.thread.setDaemon(true);
        this.snapshot = new Snapshot(0, 0, 0, 0, 0, 0);
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
        EngineState s = state.get();
        if (s != EngineState.READY) {
            throw new EngineException.Unavailable(s, "engine is " + s.name().toLowerCase(java.util.Locale.ROOT));
        }
        int maxTokens = validate(request);
        SamplingConfig sampling = SamplingConfig.resolve(request.params(), defaults, maxTokens);
        int w;
        do {
            w = waitingCount.get();
            if (w >= options.maxWaiting()) {
                throw new EngineException.Overloaded("waiting queue is full (" + options.maxWaiting()
                        + " requests); retry later");
            }
        } while (!waitingCount.compareAndSet(w, w + 1));
        RequestState[] holder = new RequestState[1];
        EventStream stream = new EventStream(delivery, options.maxBufferedEvents(), () -> requestAbort(holder[0]));
        RequestState rs = new RequestState(request, sampling, stream);
        holder[0] = rs;
        if (active.putIfAbsent(request.requestId(), rs) != null) {
            waitingCount.decrementAndGet();
            throw new EngineException.InvalidRequest("request_id", "duplicate_request_id",
                    "request id " + request.requestId() + " is already in use");
        }
        inbox.add(rs);
        if (terminated && inbox.remove(rs)) {
            // The engine thread exited between the state check and the enqueue: nobody would serve it.
            active.remove(request.requestId(), rs);
            waitingCount.decrementAndGet();
            EngineState now = state.get();
            throw new EngineException.Unavailable(now, "engine is " + now.name().toLowerCase(java.util.Locale.ROOT));
        }
        return stream;
    }

    @Override
    public boolean abort(String requestId) {
        RequestState rs = active.get(requestId);
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
        Snapshot s = snapshot;
        return new EngineStats(state.get(), waitingCount.get(), s.running(), s.kvUsed(), kv.totalBlocks(),
                s.lastBatch(), s.maxRecentBatch(), s.steps(), s.preemptions());
    }

    @Override
    public ModelInfo modelInfo() {
        return modelInfo;
    }

    @Override
    public Detokenizer detokenizer() {
        return detokenizer;
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
            thread.join(options.drainTimeout().toMillis() + 10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        delivery.shutdown();
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
                        finishAll(EngineEvent.FinishReason.ABORT, "engine shut down before the request finished");
                        break;
                    }
                }
                if (state.get() == EngineState.FAILED || !scheduler.hasWork()) {
                    publishSnapshot(0);
                    continue;
                }
                step();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            LOG.error("engine thread failed", t);
            state.set(EngineState.FAILED);
            finishAll(EngineEvent.FinishReason.ERROR, "engine failed: " + t);
        } finally {
            terminated = true;
            // Requests that slipped into the inbox after the last check.
            Object cmd;
            while ((cmd = inbox.poll()) != null) {
                if (cmd instanceof RequestState rs) {
                    admitToEngine(rs);
                }
            }
            finishAll(EngineEvent.FinishReason.ABORT, "engine closed");
            publishSnapshot(0);
            try {
                model.close();
            } catch (RuntimeException e) {
                LOG.warn("closing the model failed", e);
            }
        }
    }

    private void handle(Object cmd) {
        if (cmd instanceof RequestState rs) {
            admitToEngine(rs);
            if (state.get() == EngineState.FAILED) {
                finish(rs, EngineEvent.FinishReason.ERROR, null, "", "engine failed");
            } else if (rs.abortRequested) {
                finish(rs, EngineEvent.FinishReason.ABORT, null, "", null);
            }
        } else if (cmd instanceof Abort a) {
            if (a.state().sequence != null) {
                finish(a.state(), EngineEvent.FinishReason.ABORT, null, "", null);
            }
        }
    }

    /** Engine thread: creates the request's sequence and sampler and queues it in the scheduler. */
    private void admitToEngine(RequestState rs) {
        if (rs.sequence != null) {
            return;
        }
        long id = nextSequenceId++;
        rs.sequence = new Sequence(id, rs.request.requestId(), id, rs.request.promptTokenIds());
        rs.sampler = new Sampler(rs.sampling, rs.request.promptTokenIds());
        rs.decoder = detokenizer.newDecoder();
        rs.stops = new StopStrings(rs.sampling.stop());
        bySequence.put(id, rs);
        scheduler.add(rs.sequence);
    }

    private void step() {
        SchedulerOutput out = scheduler.schedule();
        preemptions += out.preempted().size();
        for (Sequence s : out.admitted()) {
            RequestState rs = bySequence.get(s.id());
            if (rs != null && rs.countedWaiting) {
                rs.countedWaiting = false;
                waitingCount.decrementAndGet();
            }
        }
        publishSnapshot(0); // while the model runs, stats count this step's admissions as running
        if (out.isEmpty()) {
            // Work exists but nothing fits (cannot happen for validated requests): do not spin.
            publishSnapshot(0);
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        ModelRunner.StepLogits logits;
        try {
            logits = runner.execute(out);
            consecutiveFailures = 0;
        } catch (Throwable t) {
            consecutiveFailures++;
            LOG.error("forward pass failed for a batch of " + out.scheduled().size() + " sequences", t);
            String message = "model forward pass failed: " + t;
            for (SchedulerOutput.Scheduled s : out.scheduled()) {
                RequestState rs = bySequence.get(s.sequence().id());
                if (rs != null) {
                    finish(rs, EngineEvent.FinishReason.ERROR, null, "", message);
                }
            }
            if (t instanceof Error || consecutiveFailures >= options.maxConsecutiveFailures()) {
                state.set(EngineState.FAILED);
                finishAll(EngineEvent.FinishReason.ERROR, "engine failed: " + message);
            }
            steps++;
            recordBatch(out.scheduled().size());
            return;
        }
        scheduler.complete(out);
        List<SchedulerOutput.Scheduled> scheduled = out.scheduled();
        for (int i = 0; i < scheduled.size(); i++) {
            SchedulerOutput.Scheduled s = scheduled.get(i);
            if (!s.samples()) {
                continue;
            }
            RequestState rs = bySequence.get(s.sequence().id());
            if (rs == null || rs.finished) {
                continue;
            }
            try {
                onToken(rs, logits.logits(), logits.offset(i), logits.vocabSize());
            } catch (RuntimeException e) {
                LOG.error("sampling failed for request " + rs.request.requestId(), e);
                finish(rs, EngineEvent.FinishReason.ERROR, null, "", "sampling failed: " + e);
            }
        }
        steps++;
        recordBatch(scheduled.size());
    }

    private void onToken(RequestState rs, float[] logits, int offset, int vocab) {
        Sampler.Result r = rs.sampler.sample(logits, offset, vocab, workspace);
        int token = r.token();
        rs.sequence.appendToken(token);
        rs.sampler.accept(token);
        int n = rs.sequence.outputLength();
        SamplingConfig cfg = rs.sampling;
        boolean stopToken = n > cfg.minTokens() && cfg.isStopToken(token);
        String text = "";
        String stopString = null;
        if (!stopToken) {
            StopStrings.Result sr = rs.stops.feed(rs.decoder.next(token), n >= cfg.minTokens());
            text = sr.emit();
            stopString = sr.stop();
        }
        List<EngineEvent.TokenLogprob> lps = r.logprob() == null ? List.of() : List.of(r.logprob());
        if (!rs.stream.offer(new EngineEvent.Tokens(new int[] {token}, text, lps))) {
            finish(rs, EngineEvent.FinishReason.ERROR, null, "", "consumer fell more than "
                    + options.maxBufferedEvents() + " events behind; request aborted");
            return;
        }
        if (stopToken) {
            finish(rs, EngineEvent.FinishReason.STOP, token, releaseTail(rs), null);
        } else if (stopString != null) {
            finish(rs, EngineEvent.FinishReason.STOP, stopString, "", null);
        } else if (n >= cfg.maxTokens()) {
            finish(rs, EngineEvent.FinishReason.LENGTH, null, releaseTail(rs), null);
        }
    }

    /** Text held back at the end: incomplete UTF-8 (flushed) and a stop-string prefix that never completed. */
    private static String releaseTail(RequestState rs) {
        StopStrings.Result sr = rs.stops.feed(rs.decoder.flush(), rs.sequence.outputLength() >= rs.sampling.minTokens());
        return sr.stop() != null ? sr.emit() : sr.emit() + rs.stops.flush();
    }

    private void finish(RequestState rs, EngineEvent.FinishReason reason, Object stopReason, String text,
            String error) {
        if (rs.finished) {
            return;
        }
        rs.finished = true;
        if (rs.countedWaiting) {
            rs.countedWaiting = false;
            waitingCount.decrementAndGet();
        }
        int completion = 0;
        if (rs.sequence != null) {
            scheduler.finish(rs.sequence);
            bySequence.remove(rs.sequence.id());
            completion = rs.sequence.outputLength();
        }
        active.remove(rs.request.requestId(), rs);
        // Publish the freed KV before the stream can deliver its end: whoever sees Finished sees the KV back.
        publishSnapshot(0);
        rs.stream.complete(new EngineEvent.Finished(reason,
                new EngineEvent.Usage(rs.request.promptTokenIds().length, completion), text, stopReason, error));
    }

    private void finishAll(EngineEvent.FinishReason reason, String error) {
        for (RequestState rs : new ArrayList<>(bySequence.values())) {
            finish(rs, reason, null, "", error);
        }
    }

    private void recordBatch(int size) {
        recentBatch[(int) (steps % RECENT_STEPS)] = size;
        publishSnapshot(size);
    }

    private void publishSnapshot(int lastBatch) {
        int max = 0;
        for (int b : recentBatch) {
            max = Math.max(max, b);
        }
        snapshot = new Snapshot(scheduler.numRunning(), kv.usedBlocks(), lastBatch == 0 ? snapshot.lastBatch() : lastBatch,
                max, steps, preemptions);
    }

    // ---------------------------------------------------------------- validation

    /** Checks what the engine must (lengths, ids, limits); returns the resolved completion limit. */
    private int validate(GenerationRequest r) {
        int[] prompt = r.promptTokenIds();
        int vocab = runner.vocabSize();
        int maxLen = modelInfo.maxModelLen();
        for (int t : prompt) {
            if (t < 0 || t >= vocab) {
                throw new EngineException.InvalidRequest("prompt", "invalid_token",
                        "prompt token id " + t + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        if (prompt.length >= maxLen) {
            throw new EngineException.InvalidRequest("messages", "context_length_exceeded",
                    "prompt has " + prompt.length + " tokens; the model's context is " + maxLen
                            + " tokens including at least 1 completion token");
        }
        SamplingParams p = r.params();
        int maxTokens = p.maxTokens() == null ? maxLen - prompt.length : p.maxTokens();
        if (maxTokens < 1) {
            throw new EngineException.InvalidRequest("max_tokens", "invalid_value",
                    "max_tokens must be >= 1, was " + maxTokens);
        }
        if ((long) prompt.length + maxTokens > maxLen) {
            throw new EngineException.InvalidRequest("max_tokens", "context_length_exceeded",
                    "prompt (" + prompt.length + " tokens) + max_tokens (" + maxTokens + ") exceeds the context of "
                            + maxLen + " tokens");
        }
        // The last token's K/V is never computed: a sequence holds at most prompt + max_tokens - 1 slots.
        if (kv.blocksFor(prompt.length + maxTokens - 1) > kv.totalBlocks()) {
            throw new EngineException.InvalidRequest("max_tokens", "kv_cache_exceeded",
                    "prompt + max_tokens = " + (prompt.length + maxTokens) + " tokens exceeds the KV cache of "
                            + (long) kv.totalBlocks() * kv.blockSize() + " tokens");
        }
        if (p.stop().size() > SamplingParams.MAX_STOP_STRINGS) {
            throw new EngineException.InvalidRequest("stop", "invalid_value",
                    "at most " + SamplingParams.MAX_STOP_STRINGS + " stop strings, got " + p.stop().size());
        }
        if (p.logprobs() != null && (p.logprobs() < 0 || p.logprobs() > SamplingParams.MAX_TOP_LOGPROBS)) {
            throw new EngineException.InvalidRequest("top_logprobs", "invalid_value",
                    "top_logprobs must be in [0, " + SamplingParams.MAX_TOP_LOGPROBS + "], was " + p.logprobs());
        }
        for (Integer id : p.logitBias().keySet()) {
            if (id < 0 || id >= vocab) {
                throw new EngineException.InvalidRequest("logit_bias", "invalid_token",
                        "logit_bias token id " + id + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        if (p.temperature() != null && !(p.temperature() >= 0)) {
            throw new EngineException.InvalidRequest("temperature", "invalid_value",
                    "temperature must be >= 0, was " + p.temperature());
        }
        if (p.topP() != null && !(p.topP() > 0 && p.topP() <= 1)) {
            throw new EngineException.InvalidRequest("top_p", "invalid_value",
                    "top_p must be in (0, 1], was " + p.topP());
        }
        if (p.minP() != null && !(p.minP() >= 0 && p.minP() <= 1)) {
            throw new EngineException.InvalidRequest("min_p", "invalid_value",
                    "min_p must be in [0, 1], was " + p.minP());
        }
        if (!(p.repetitionPenalty() > 0)) {
            throw new EngineException.InvalidRequest("repetition_penalty", "invalid_value",
                    "repetition_penalty must be > 0, was " + p.repetitionPenalty());
        }
        return maxTokens;
    }
}
