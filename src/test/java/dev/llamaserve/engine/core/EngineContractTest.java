package dev.llamaserve.engine.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineEvent.FinishReason;
import dev.llamaserve.engine.EngineException;
import dev.llamaserve.engine.EngineState;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InvalidRequestException;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.engine.Submission;
import dev.llamaserve.engine.kv.BlockManager;
import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.model.ForwardBatch;
import dev.llamaserve.engine.model.LogitRows;
import dev.llamaserve.engine.runner.ModelRunner;
import dev.llamaserve.engine.scheduler.Scheduler;
import dev.llamaserve.engine.scheduler.SchedulerConfig;
import dev.llamaserve.engine.scheduler.SchedulerOutput;
import dev.llamaserve.engine.scheduler.Sequence;
import dev.llamaserve.engine.testing.Collector;
import dev.llamaserve.engine.testing.ControlledLm;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The engine's behaviour against whatever model and tokenizer a subclass provides: the fake ones
 * ({@code FakeModelEngineTest}) on this branch, the real {@code LlamaModel} and tokenizer once merged.
 * Nothing here depends on the fake's internals: expectations are derived from runs of the same model
 * (alone vs batched, greedy vs sampled, with and without a parameter).
 */
public abstract class EngineContractTest {

    /**
     * A fresh model with its own KV pool of at least 8,192 slots (the long-prefill test holds a
     * 4,000-token prompt beside a running stream). Called once or twice per test.
     */
    protected abstract CausalLm newModel();

    protected abstract Detokenizer detokenizer();

    /** The model's info; {@code maxModelLen} at least 4,200 for the long-prefill test. */
    protected abstract ModelInfo modelInfo();

    /** {@code length} ordinary (non-special) prompt token ids; different salts give different prompts. */
    protected abstract int[] prompt(int length, int salt);

    /** Tolerance on logits/logprobs between a batched run and a run alone. */
    protected double logitTolerance() {
        return 2e-3;
    }

    private static final Duration WAIT = Duration.ofSeconds(120);
    private final List<LlmEngine> engines = new ArrayList<>();
    private final AtomicInteger ids = new AtomicInteger();

    @AfterEach
    void closeEngines() {
        for (LlmEngine e : engines) {
            e.close();
        }
    }

    protected LlmEngine engine(EngineOptions options) {
        return engine(newModel(), options);
    }

    protected LlmEngine engine(CausalLm model, EngineOptions options) {
        LlmEngine e = LlmEngine.start(model, detokenizer(), modelInfo(), options);
        engines.add(e);
        return e;
    }

    protected static EngineOptions opts() {
        return EngineOptions.defaults().withDrainTimeout(Duration.ofSeconds(5));
    }

    protected Collector submit(LlmEngine e, int[] prompt, SamplingParams p) {
        return Collector.subscribe(e.submit(new GenerationRequest("req-" + ids.incrementAndGet(), prompt, p)));
    }

    protected static SamplingParams.Builder greedy(int maxTokens) {
        return SamplingParams.builder().temperature(0.0).maxTokens(maxTokens).ignoreEos(true);
    }

    protected static void await(BooleanSupplier condition, String what) {
        await(condition, what, WAIT);
    }

    /** Polls {@code condition} until it holds; fails, naming {@code what}, after {@code timeout}. */
    protected static void await(BooleanSupplier condition, String what, Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting until " + what);
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException ex) {
                throw new AssertionError(ex);
            }
        }
    }

    private int[] run(LlmEngine e, int[] prompt, SamplingParams p) {
        Collector c = submit(e, prompt, p);
        c.await(WAIT);
        return c.tokens();
    }

    // ------------------------------------------------------------------ batching

    @Test
    void batchedModelLogitsEqualEachSequenceRunAlone() {
        CausalLm batched = newModel();
        CausalLm alone = newModel();
        try {
            BlockManager kv = new BlockManager(64, 16);
            Scheduler s = new Scheduler(new SchedulerConfig(2048, 8), kv);
            ModelRunner runner = new ModelRunner(batched, kv);
            int vocab = runner.vocabSize();
            List<Sequence> seqs = new ArrayList<>();
            int[] lengths = {5, 17, 33};
            for (int i = 0; i < lengths.length; i++) {
                Sequence q = new Sequence(i, "s" + i, i, prompt(lengths[i], i));
                seqs.add(q);
                s.add(q);
            }
            for (int step = 0; step < 3; step++) {
                SchedulerOutput o = s.schedule();
                assertEquals(3, o.scheduled().size());
                ModelRunner.StepLogits l = runner.execute(o);
                s.complete(o);
                for (int i = 0; i < 3; i++) {
                    Sequence q = seqs.get(i);
                    int[] ctx = new int[q.numTokens()];
                    for (int p = 0; p < ctx.length; p++) {
                        ctx[p] = q.tokenAt(p);
                    }
                    float[] ref = alone.forward(ForwardBatch.contiguous(ctx, 0, false));
                    int off = l.offset(i);
                    int best = 0;
                    for (int v = 0; v < vocab; v++) {
                        assertEquals(ref[v], l.logits()[off + v], logitTolerance(),
                                "step " + step + " sequence " + i + " token " + v);
                        if (ref[v] > ref[best]) {
                            best = v;
                        }
                    }
                    q.appendToken(best);
                }
            }
        } finally {
            batched.close();
            alone.close();
        }
    }

    /**
     * Where the model picks its rows' argmaxes itself (CausalLm.argmaxInForward), every step of a greedy request
     * returns those instead of logits, and the tokens are the ones its logits give (the same model, logits only); a
     * request that wants its logprobs takes logits in every step it samples in, alone and beside a greedy one.
     */
    @Test
    void greedyStepsTakeTheModelsArgmaxesWhereItPicksThemAndGiveTheSameTokens() {
        ControlledLm picks = new ControlledLm(newModel());
        ControlledLm logitsOnly = new ControlledLm(newModel()).argmaxes(false);
        LlmEngine a = engine(picks, opts());
        LlmEngine b = engine(logitsOnly, opts());
        int[] p = prompt(20, 41);
        Collector ca = submit(a, p, greedy(12).build());
        Collector cb = submit(b, p, greedy(12).build());
        assertEquals(FinishReason.LENGTH, ca.await(WAIT).reason());
        assertEquals(FinishReason.LENGTH, cb.await(WAIT).reason());
        assertArrayEquals(cb.tokens(), ca.tokens());
        assertEquals(12, ca.tokens().length);
        assertEquals(0, logitsOnly.argmaxCalls());
        boolean modelPicks = picks.argmaxInForward();
        assertEquals(modelPicks ? picks.calls() : 0, picks.argmaxCalls(), "steps of the greedy request: " + picks.calls());
        int argmaxes = picks.argmaxCalls();
        Collector wants = submit(a, p, greedy(5).logprobs(0).build());
        assertEquals(FinishReason.LENGTH, wants.await(WAIT).reason());
        assertEquals(5, wants.logprobs().size());
        assertEquals(argmaxes, picks.argmaxCalls(), "a row that wants its logprob takes its logits");
        picks.gated(true);   // both in the first steps together
        Collector greedyToo = submit(a, prompt(9, 42), greedy(6).build());
        Collector wantsToo = submit(a, prompt(9, 43), greedy(6).logprobs(0).build());
        picks.gated(false);
        assertEquals(FinishReason.LENGTH, greedyToo.await(WAIT).reason());
        assertEquals(FinishReason.LENGTH, wantsToo.await(WAIT).reason());
        assertEquals(6, wantsToo.logprobs().size(), "every token of the request beside a greedy one has its logprob");
    }

    @Test
    void requestsSubmittedTogetherRunInOneBatchAndMatchTheirRunsAlone() {
        ControlledLm lm = new ControlledLm(newModel());
        LlmEngine e = engine(lm, opts());
        int n = 4;
        SamplingParams p = greedy(12).logprobs(5).build();
        List<Collector> alone = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Collector c = submit(e, prompt(6 + 5 * i, 100 + i), p);
            c.await(WAIT);
            alone.add(c);
        }
        assertEquals(1, e.stats().maxRecentBatchSize(), "alone means one sequence per step");
        lm.gated(true); // hold the engine's first step until all are queued, as if they arrived at once
        List<Collector> together = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            together.add(submit(e, prompt(6 + 5 * i, 100 + i), p));
        }
        lm.gated(false);
        for (Collector c : together) {
            assertEquals(FinishReason.LENGTH, c.await(WAIT).reason());
        }
        assertTrue(e.stats().maxRecentBatchSize() > 1, "steps batched several sequences: " + e.stats());
        double tol = logitTolerance();
        for (int i = 0; i < n; i++) {
            int[] a = alone.get(i).tokens();
            int[] b = together.get(i).tokens();
            List<EngineEvent.TokenLogprob> la = alone.get(i).logprobs();
            List<EngineEvent.TokenLogprob> lb = together.get(i).logprobs();
            assertEquals(a.length, la.size());
            for (int k = 0; k < a.length; k++) {
                if (a[k] != b[k]) {
                    // Allowed only where the alone run's top two are within the tolerance (a near tie).
                    float margin = la.get(k).top().get(0).logprob() - la.get(k).top().get(1).logprob();
                    assertTrue(margin <= 2 * tol, "request " + i + " token " + k + " differs with margin " + margin);
                    break;
                }
                assertEquals(la.get(k).logprob(), lb.get(k).logprob(), tol, "request " + i + " token " + k);
                for (int j = 0; j < la.get(k).top().size(); j++) {
                    assertEquals(la.get(k).top().get(j).logprob(), lb.get(k).top().get(j).logprob(), tol);
                }
            }
        }
    }

    @Test
    void fourIdenticalGreedyRequestsAtOnceGiveIdenticalOutputs() {
        LlmEngine e = engine(opts());
        int[] pr = prompt(20, 7);
        List<Collector> cs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            cs.add(submit(e, pr, greedy(16).build()));
        }
        for (Collector c : cs) {
            c.await(WAIT);
        }
        for (int i = 1; i < 4; i++) {
            assertArrayEquals(cs.get(0).tokens(), cs.get(i).tokens());
            assertEquals(cs.get(0).text(), cs.get(i).text());
        }
        assertEquals(16, cs.get(0).tokens().length);
    }

    @Test
    void runningStreamKeepsReceivingTokensWhileALongPromptIsPrefilled() {
        int budget = 256;
        ControlledLm lm = new ControlledLm(newModel());
        LlmEngine e = engine(lm, opts().withMaxNumBatchedTokens(budget));
        Collector running = Collector.subscribe(e.submit(
                new GenerationRequest("running", prompt(8, 1), greedy(3000).build())));
        await(() -> running.tokenCount() >= 2, "the first stream decodes");
        int before = running.tokenCount();
        int firstCall = lm.calls();
        Collector longOne = submit(e, prompt(4000, 2), greedy(1).build());
        longOne.await(WAIT);
        assertTrue(e.abort("running"));
        assertEquals(FinishReason.ABORT, running.await(WAIT).reason());
        // What the model was asked to do, step by step: every step that carried a chunk of the long
        // prompt also carried the running stream's decode token.
        List<int[]> steps = lm.queryLens().subList(firstCall, lm.calls());
        int chunkSteps = 0;
        int prefilled = 0;
        for (int[] q : steps) {
            boolean chunk = Arrays.stream(q).anyMatch(n -> n > 1);
            if (chunk) {
                chunkSteps++;
                assertEquals(2, q.length, "a decode and a prefill chunk: " + Arrays.toString(q));
                assertTrue(Arrays.stream(q).anyMatch(n -> n == 1), "the decode ran alongside the chunk");
                assertTrue(Arrays.stream(q).sum() <= budget);
                prefilled += Arrays.stream(q).max().orElseThrow();
            }
        }
        int prefillSteps = (4000 + budget - 2) / (budget - 1);
        assertEquals(4000, prefilled, "the whole prompt went through in chunks");
        assertEquals(prefillSteps, chunkSteps, "chunks as large as the budget left by the decode allows");
        int[] after = running.tokens();
        assertTrue(after.length - before >= prefillSteps, "the stream received " + (after.length - before)
                + " tokens across a " + prefillSteps + "-step prefill");
    }

    // ------------------------------------------------------------------ aborts, queue

    @Test
    void abortWhileWaitingFreesItAndItNeverRuns() {
        ControlledLm lm = new ControlledLm(newModel()).gated(true);
        LlmEngine e = engine(lm, opts().withMaxNumSeqs(1));
        Collector a = Collector.subscribe(e.submit(new GenerationRequest("running-a", prompt(8, 1),
                greedy(1000).build())));
        lm.allow(1);
        await(() -> a.tokenCount() == 1 && lm.blocked(), "a decoded and the engine is inside its next step");
        GenerationRequest b = new GenerationRequest("waiting-b", prompt(8, 2), greedy(5).build());
        Collector cb = Collector.subscribe(e.submit(b));
        await(() -> e.stats().waiting() == 1, "b waits");
        assertTrue(e.abort("waiting-b"));
        lm.allow(1); // the step in flight ends; the abort is handled before the next one
        EngineEvent.Finished f = cb.await(WAIT);
        assertEquals(FinishReason.ABORT, f.reason());
        assertEquals(0, f.usage().completionTokens());
        assertEquals(0, cb.tokenCount());
        await(() -> e.stats().waiting() == 0, "the waiting count drops");
        assertFalse(e.abort("waiting-b"), "an aborted request is gone");
        assertEquals(1, e.stats().running());
        assertTrue(e.abort("running-a"));
        lm.gated(false);
        assertEquals(FinishReason.ABORT, a.await(WAIT).reason());
    }

    @Test
    void abortWhilePrefillingFreesItsKvAndTheNextRequestStartsAtOnce() {
        ControlledLm lm = new ControlledLm(newModel()).gated(true);
        // 38 blocks: the 600-token prompt takes them all, so the next request fits only once they are freed.
        LlmEngine e = engine(lm, opts().withMaxNumBatchedTokens(32).withKvTokenBudget(38 * 16));
        GenerationRequest a = new GenerationRequest("prefilling-a", prompt(600, 3), greedy(5).build());
        Collector ca = Collector.subscribe(e.submit(a));
        lm.allow(2);
        await(() -> e.stats().steps() == 2 && lm.blocked(), "two prefill chunks ran, the third is in flight");
        assertEquals(38, e.stats().kvBlocksUsed());
        assertEquals(0, ca.tokenCount());
        Collector next = submit(e, prompt(8, 4), greedy(1).build());
        assertTrue(e.abort("prefilling-a"));
        lm.allow(1); // the step in flight (a's third chunk) ends; the abort is handled before the next one
        assertEquals(FinishReason.ABORT, ca.await(WAIT).reason());
        assertEquals(0, ca.tokenCount());
        lm.allow(1);
        assertEquals(FinishReason.LENGTH, next.await(WAIT).reason(), "the next request ran in the next step");
        assertEquals(4, lm.calls());
        await(() -> e.stats().steps() == 4 && e.stats().running() == 0, "stats published");
        assertEquals(0, e.stats().kvBlocksUsed());
    }

    @Test
    void abortWhileDecodingFreesItsKvAndTheNextRequestStartsAtOnce() {
        ControlledLm lm = new ControlledLm(newModel()).gated(true);
        LlmEngine e = engine(lm, opts().withMaxNumSeqs(1));
        GenerationRequest a = new GenerationRequest("decoding-a", prompt(40, 5), greedy(1000).build());
        Collector ca = Collector.subscribe(e.submit(a));
        lm.allow(3);
        await(() -> ca.tokenCount() == 3 && lm.blocked(), "a decoded 3 tokens, the 4th step is in flight");
        Collector next = submit(e, prompt(8, 6), greedy(1).build());
        await(() -> e.stats().waiting() == 1, "next waits behind max-num-seqs 1");
        assertTrue(e.abort("decoding-a"));
        lm.allow(1); // the step in flight ends; the abort is handled before the next one
        EngineEvent.Finished f = ca.await(WAIT);
        assertEquals(FinishReason.ABORT, f.reason());
        assertEquals(4, f.usage().completionTokens());
        assertEquals(40, f.usage().promptTokens());
        lm.allow(1);
        assertEquals(FinishReason.LENGTH, next.await(WAIT).reason(), "the next request ran in the next step");
        assertEquals(5, lm.calls());
        await(() -> e.stats().steps() == 5 && e.stats().running() == 0, "stats published");
        assertEquals(0, e.stats().kvBlocksUsed());
    }

    @Test
    void cancellingTheSubscriptionAbortsTheRequest() {
        ControlledLm lm = new ControlledLm(newModel()).gated(true);
        LlmEngine e = engine(lm, opts());
        Collector c = submit(e, prompt(8, 8), greedy(1000).build());
        lm.allow(3);
        await(() -> c.tokenCount() == 3 && lm.blocked(), "3 tokens flowed, the 4th step is in flight");
        c.subscription.cancel();
        lm.allow(1); // the step in flight ends; the abort is handled before the next one
        await(() -> e.stats().running() == 0 && e.stats().kvBlocksUsed() == 0, "the request is gone");
        assertEquals(4, lm.calls(), "no step ran after the abort");
        assertFalse(c.finished.isDone(), "a cancelled subscription receives nothing more");
    }

    @Test
    void fullWaitingQueueRejectsAtOnce() {
        ControlledLm lm = new ControlledLm(newModel()).gated(true);
        LlmEngine e = engine(lm, opts().withMaxNumSeqs(1).withMaxWaiting(2));
        Collector a = submit(e, prompt(8, 1), greedy(3).build());
        // inside its first step, a is out of the waiting queue; waiting() alone may read 0 before that, between the
        // engine thread taking a in and the scheduler's next published count
        await(() -> e.stats().waiting() == 0 && lm.blocked(), "a admitted, its first step waiting at the gate");
        Collector b = submit(e, prompt(8, 2), greedy(3).build());
        Collector c = submit(e, prompt(8, 3), greedy(3).build());
        assertEquals(2, e.stats().waiting());
        long t0 = System.nanoTime();
        assertThrows(EngineException.Overloaded.class, () -> e.submit(
                new GenerationRequest("overflow", prompt(8, 4), greedy(3).build())));
        assertTrue(System.nanoTime() - t0 < 1_000_000_000L, "rejected at once, not after a wait");
        lm.gated(false);
        for (Collector x : List.of(a, b, c)) {
            assertEquals(FinishReason.LENGTH, x.await(WAIT).reason());
        }
    }

    // ------------------------------------------------------------------ KV pressure

    @Test
    void preemptedRequestsFinishWithTheOutputTheyHaveAlone() {
        int n = 4;
        int promptLen = 20;
        int maxTokens = 40;
        List<int[]> alone = new ArrayList<>();
        LlmEngine roomy = engine(opts());
        for (int i = 0; i < n; i++) {
            alone.add(run(roomy, prompt(promptLen, 30 + i), greedy(maxTokens).build()));
        }
        // 4 blocks of 16 per sequence at the end (59 slots); 10 blocks hold about two and a half.
        ControlledLm lm = new ControlledLm(newModel()).gated(true);
        LlmEngine tight = engine(lm, opts().withKvTokenBudget(160));
        List<Collector> cs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            cs.add(submit(tight, prompt(promptLen, 30 + i), greedy(maxTokens).build()));
        }
        lm.gated(false);
        for (int i = 0; i < n; i++) {
            assertEquals(FinishReason.LENGTH, cs.get(i).await(WAIT).reason());
            assertArrayEquals(alone.get(i), cs.get(i).tokens(), "request " + i);
        }
        assertTrue(tight.stats().preemptions() > 0, "the budget forced preemptions: " + tight.stats());
        assertEquals(0, tight.stats().kvBlocksUsed());
        assertEquals(10, tight.stats().kvBlocksTotal());
    }

    @Test
    void requestLargerThanTheKvPoolIsRejected() {
        LlmEngine e = engine(opts().withKvTokenBudget(64));
        InvalidRequestException ex = assertThrows(InvalidRequestException.class,
                () -> e.submit(new GenerationRequest("big", prompt(60, 1), greedy(10).build())));
        assertEquals("max_tokens", ex.param());
    }

    @Test
    void promptOverTheContextIsRejected() {
        LlmEngine e = engine(opts());
        int max = modelInfo().maxModelLen();
        assertThrows(InvalidRequestException.class,
                () -> e.submit(new GenerationRequest("long", prompt(max, 1), greedy(1).build())));
        assertThrows(InvalidRequestException.class,
                () -> e.submit(new GenerationRequest("long2", prompt(10, 1), greedy(max).build())));
    }

    // ------------------------------------------------------------------ sampling

    @Test
    void temperatureZeroTopK1AndTinyTopPEqualGreedy() {
        LlmEngine e = engine(opts());
        int[] pr = prompt(12, 9);
        int[] g = run(e, pr, greedy(12).build());
        int differing = 0;
        for (long seed = 1; seed <= 3; seed++) {
            SamplingParams.Builder t1 = SamplingParams.builder().temperature(1.0).topP(1.0).seed(seed)
                    .maxTokens(12).ignoreEos(true);
            assertArrayEquals(g, run(e, pr, t1.topK(1).build()), "top_k 1");
            assertArrayEquals(g, run(e, pr, t1.topK(0).topP(1e-9).build()), "tiny top_p");
            if (!Arrays.equals(g, run(e, pr, t1.topK(0).topP(1.0).build()))) {
                differing++;
            }
        }
        assertTrue(differing > 0, "plain temperature-1 sampling differs from greedy, so the checks above bite");
    }

    @Test
    void largeLogitBiasForcesItsToken() {
        LlmEngine e = engine(opts());
        int[] pr = prompt(10, 11);
        int[] g = run(e, pr, greedy(6).build());
        int target = (g[0] + 1) % 100 + 1;
        int[] biased = run(e, pr, greedy(6).logitBias(Map.of(target, 100.0)).build());
        int[] expect = new int[6];
        Arrays.fill(expect, target);
        assertArrayEquals(expect, biased);
        assertFalse(Arrays.equals(expect, g));
    }

    @Test
    void seededSamplingIsReproducibleAcrossBatchMixes() {
        ControlledLm lm = new ControlledLm(newModel());
        LlmEngine e = engine(lm, opts());
        int[] pr = prompt(14, 12);
        SamplingParams seeded = SamplingParams.builder().temperature(1.0).topP(0.95).seed(1234L).maxTokens(16)
                .ignoreEos(true).build();
        int[] alone = run(e, pr, seeded);
        lm.gated(true);
        Collector withOthers = submit(e, pr, seeded);
        List<Collector> others = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            others.add(submit(e, prompt(5 + 9 * i, 40 + i), SamplingParams.builder().temperature(0.8).seed(7L + i)
                    .maxTokens(5 + 7 * i).ignoreEos(true).build()));
        }
        lm.gated(false);
        withOthers.await(WAIT);
        assertArrayEquals(alone, withOthers.tokens());
        assertTrue(e.stats().maxRecentBatchSize() > 1);
        lm.gated(true);
        Collector mix2First = submit(e, prompt(30, 50), greedy(3).build());
        Collector mix2 = submit(e, pr, seeded);
        lm.gated(false);
        mix2.await(WAIT);
        mix2First.await(WAIT);
        assertArrayEquals(alone, mix2.tokens());
        int[] otherSeed = run(e, pr, seeded.toBuilder().seed(4321L).build());
        assertFalse(Arrays.equals(alone, otherSeed), "the seed matters");
        for (Collector c : others) {
            c.await(WAIT);
        }
    }

    @Test
    void minTokensAndIgnoreEosAreHonoured() {
        LlmEngine e = engine(opts());
        int eos = modelInfo().eosTokenIds().iterator().next();
        int[] pr = prompt(10, 13);
        Map<Integer, Double> toEos = Map.of(eos, 100.0);
        Collector plain = submit(e, pr, SamplingParams.builder().temperature(0.0).maxTokens(10).logitBias(toEos).build());
        EngineEvent.Finished f = plain.await(WAIT);
        assertEquals(FinishReason.STOP, f.reason());
        assertEquals(eos, f.stopReason());
        assertArrayEquals(new int[] {eos}, plain.tokens());

        Collector min = submit(e, pr, SamplingParams.builder().temperature(0.0).maxTokens(10).minTokens(4)
                .logitBias(toEos).build());
        f = min.await(WAIT);
        assertEquals(FinishReason.STOP, f.reason());
        int[] t = min.tokens();
        assertEquals(5, t.length, Arrays.toString(t));
        for (int i = 0; i < 4; i++) {
            assertTrue(!modelInfo().eosTokenIds().contains(t[i]), "no eos before min_tokens");
        }
        assertEquals(eos, t[4]);
        assertEquals(5, f.usage().completionTokens());

        Collector ignore = submit(e, pr, SamplingParams.builder().temperature(0.0).maxTokens(6).ignoreEos(true)
                .logitBias(toEos).build());
        f = ignore.await(WAIT);
        assertEquals(FinishReason.LENGTH, f.reason());
        assertEquals(6, ignore.tokens().length);
        assertEquals(eos, ignore.tokens()[5]);
    }

    @Test
    void stopStringsSpanningTokensAreCutAndNotEmitted() {
        LlmEngine e = engine(opts());
        int[] pr = prompt(16, 14);
        Collector full = submit(e, pr, greedy(40).build());
        full.await(WAIT);
        List<EngineEvent.Tokens> ev = full.tokenEvents();
        String stop = null;
        for (int k = 2; k + 1 < ev.size() && stop == null; k++) {
            String a = ev.get(k).text();
            String b = ev.get(k + 1).text();
            if (!a.isEmpty() && !b.isEmpty() && !a.contains("\uFFFD") && !b.contains("\uFFFD")) {
                stop = a.substring(a.length() - 1) + b.charAt(0);
            }
        }
        assumeTrue(stop != null, "the greedy output has no two adjacent non-empty text deltas");
        String fullText = full.text();
        int at = fullText.indexOf(stop);
        Collector cut = submit(e, pr, greedy(40).stop(List.of(stop, "\u0000never")).build());
        EngineEvent.Finished f = cut.await(WAIT);
        assertEquals(FinishReason.STOP, f.reason());
        assertEquals(stop, f.stopReason());
        assertEquals(fullText.substring(0, at), cut.text());
        assertFalse(cut.text().contains(stop));
    }

    @Test
    void logprobsEqualTheLogSoftmaxOfTheModelsLogits() {
        LlmEngine e = engine(opts());
        int[] pr = prompt(9, 15);
        Collector c = submit(e, pr, greedy(4).logprobs(5).build());
        c.await(WAIT);
        int[] out = c.tokens();
        List<EngineEvent.TokenLogprob> lps = c.logprobs();
        assertEquals(4, lps.size());
        try (CausalLm ref = newModel()) {
            for (int k = 0; k < 4; k++) {
                int[] ctx = Arrays.copyOf(pr, pr.length + k);
                System.arraycopy(out, 0, ctx, pr.length, k);
                float[] logits = ref.forward(ForwardBatch.contiguous(ctx, 0, false));
                double[] want = LogitRows.logSoftmax(logits, 0, logits.length);   // [V]
                EngineEvent.TokenLogprob lp = lps.get(k);
                assertEquals(out[k], lp.tokenId());
                assertEquals(want[out[k]], lp.logprob(), logitTolerance());
                assertEquals(5, lp.top().size());
                for (EngineEvent.TopLogprob t : lp.top()) {
                    assertEquals(want[t.tokenId()], t.logprob(), logitTolerance());
                }
                assertEquals(out[k], lp.top().get(0).tokenId(), "greedy picks the top logprob");
            }
        }
    }

    // ------------------------------------------------------------------ faults, backpressure, lifecycle

    @Test
    void forwardFailureFailsTheBatchesStreamsAndFreesTheirKv() {
        ControlledLm lm = new ControlledLm(newModel());
        LlmEngine e = engine(lm, opts());
        lm.failWhen(b -> b.numSequences() == 3);
        List<Collector> cs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            cs.add(submit(e, prompt(10 + i, 60 + i), greedy(3000).build()));
        }
        for (Collector c : cs) {
            EngineEvent.Finished f = c.await(WAIT);
            assertEquals(FinishReason.ERROR, f.reason());
            assertNotNull(f.errorMessage());
            assertTrue(f.errorMessage().contains("injected"), f.errorMessage());
            assertFalse(f.requestError(), "the engine's failure, not the request's");
        }
        lm.failWhen(b -> false);
        await(() -> e.stats().kvBlocksUsed() == 0 && e.stats().running() == 0, "KV freed");
        assertEquals(EngineState.READY, e.stats().state(), "one failed step does not fail the engine");
        Collector after = submit(e, prompt(8, 1), greedy(3).build());
        assertEquals(FinishReason.LENGTH, after.await(WAIT).reason());
    }

    @Test
    void repeatedForwardFailuresMarkTheEngineFailed() {
        ControlledLm lm = new ControlledLm(newModel());
        lm.failWhen(b -> true);
        LlmEngine e = engine(lm, opts().withMaxConsecutiveFailures(2));
        long steps = e.stats().steps();
        for (int i = 0; i < 2; i++) {
            assertEquals(FinishReason.ERROR, submit(e, prompt(8, i), greedy(3).build()).await(WAIT).reason());
        }
        await(() -> e.stats().state() == EngineState.FAILED, "the engine is marked failed");
        assertTrue(e.stats().steps() > steps, "the progress counter moved");
        EngineException.Unavailable ex = assertThrows(EngineException.Unavailable.class,
                () -> e.submit(new GenerationRequest("late", prompt(8, 1), greedy(3).build())));
        assertEquals(EngineState.FAILED, ex.state());
    }

    /** An Error on the engine thread (out of memory) ends it: FAILED, so liveness restarts the pod, never READY. */
    @Test
    void anErrorOnTheEngineThreadLeavesTheEngineFailed() {
        ControlledLm lm = new ControlledLm(newModel());
        lm.errorWhen(b -> true);
        LlmEngine e = engine(lm, opts());
        assertEquals(FinishReason.ERROR, submit(e, prompt(8, 1), greedy(3).build()).await(WAIT).reason());
        await(() -> e.stats().state() == EngineState.FAILED, "the engine is marked failed");
        EngineException.Unavailable ex = assertThrows(EngineException.Unavailable.class,
                () -> e.submit(new GenerationRequest("after", prompt(8, 2), greedy(3).build())));
        assertEquals(EngineState.FAILED, ex.state());
    }

    @Test
    void consumerThatFallsTooFarBehindIsAbortedWithAnError() {
        LlmEngine e = engine(opts().withMaxBufferedEvents(5));
        Collector slow = new Collector(0);
        e.submit(new GenerationRequest("slow", prompt(8, 1), greedy(200).build())).subscribe(slow);
        await(() -> e.stats().running() == 0 && e.stats().steps() >= 6, "the engine gave up on the request");
        slow.subscription.request(Long.MAX_VALUE);
        EngineEvent.Finished f = slow.await(WAIT);
        assertEquals(FinishReason.ERROR, f.reason());
        assertTrue(f.errorMessage().contains("behind"), f.errorMessage());
        assertEquals(5, slow.tokenCount());
        assertEquals(0, e.stats().kvBlocksUsed());
    }

    @Test
    void closeDrainsRunningRequestsThenRefusesNewOnes() {
        LlmEngine e = engine(opts());
        Collector c = submit(e, prompt(8, 1), greedy(20).build());
        e.close();
        assertEquals(FinishReason.LENGTH, c.await(WAIT).reason());
        assertEquals(20, c.tokenCount());
        assertEquals(EngineState.DRAINING, e.stats().state());
        assertThrows(EngineException.Unavailable.class,
                () -> e.submit(new GenerationRequest("late", prompt(8, 1), greedy(3).build())));
    }

    /**
     * A step that outlasts the drain (one forward pass cannot be cut; a long prefill chunk on a CPU takes minutes):
     * close() ends the streams itself, so that the clients get their end while the step still runs, instead of
     * nothing until the pod is killed.
     */
    @Test
    void closeEndsTheStreamsItselfWhenAStepOutlastsTheDrain() {
        ControlledLm lm = new ControlledLm(newModel()).gated(true);
        LlmEngine e = engine(lm, opts().withDrainTimeout(Duration.ofMillis(50)));
        Collector c = submit(e, prompt(8, 1), greedy(20).build());
        await(lm::blocked, "the engine thread is inside a step");
        e.close();
        EngineEvent.Finished f = c.await(WAIT);
        assertEquals(FinishReason.ABORT, f.reason());
        assertTrue(f.errorMessage().contains("shut down"), f.errorMessage());
        assertTrue(lm.blocked(), "ended while the step still runs");
        lm.gated(false);   // the step ends: what the engine thread queues then is not delivered
        await(() -> !lm.blocked(), "the step ended");
        assertEquals(0, c.tokenCount());
    }

    /**
     * While a step runs, the engine says how long it should take: its tokens at the slowest rate per token of the
     * earlier steps of enough tokens (none yet: 0), so that the liveness check can tell a long prefill from a hang.
     */
    @Test
    void aRunningStepCarriesItsExpectedDuration() {
        ControlledLm lm = new ControlledLm(newModel());
        LlmEngine e = engine(lm, opts());
        assertEquals(0, e.stats().expectedStepNanos(), "no step runs");
        assertEquals(FinishReason.LENGTH, submit(e, prompt(40, 1), greedy(2).build()).await(WAIT).reason());
        lm.gated(true);
        Collector c = submit(e, prompt(40, 2), greedy(2).build());
        await(lm::blocked, "the engine thread is inside the second prefill");
        assertTrue(e.stats().expectedStepNanos() > 0, "a rate is known from the first prefill: " + e.stats());
        lm.gated(false);
        assertEquals(FinishReason.LENGTH, c.await(WAIT).reason());
        await(() -> e.stats().expectedStepNanos() == 0, "no step runs");
    }

    /**
     * A caller that gives up while its request is being submitted on another thread (an HTTP client that leaves
     * while its request is prepared off the event loop): the abandon finds nothing to abort yet, so the submit
     * that follows aborts the request itself instead of letting it run to max_tokens with nobody listening.
     */
    @Test
    void aSubmissionAbandonedBeforeItsSubmitIsAbortedBySubmit() {
        ControlledLm lm = new ControlledLm(newModel()).gated(true);   // so that it cannot finish before the abort
        LlmEngine e = engine(lm, opts());
        Submission s = new Submission(e, new GenerationRequest("gone", prompt(8, 1), greedy(200).build()));
        assertFalse(s.abandon(), "nothing to abort yet");
        Collector c = new Collector(Long.MAX_VALUE);
        s.submit().subscribe(c);
        lm.gated(false);
        assertEquals(FinishReason.ABORT, c.await(WAIT).reason());
        await(() -> e.stats().running() == 0 && e.stats().waiting() == 0, "nothing left running");
    }

    @Test
    void duplicateRequestIdIsRejected() {
        ControlledLm lm = new ControlledLm(newModel()).gated(true);
        LlmEngine e = engine(lm, opts());
        e.submit(new GenerationRequest("same", prompt(8, 1), greedy(3).build()));
        assertThrows(InvalidRequestException.class,
                () -> e.submit(new GenerationRequest("same", prompt(8, 1), greedy(3).build())));
        lm.gated(false);
    }
}
