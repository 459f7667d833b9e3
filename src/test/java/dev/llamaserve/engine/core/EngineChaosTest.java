package dev.llamaserve.engine.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineEvent.FinishReason;
import dev.llamaserve.engine.EngineException;
import dev.llamaserve.engine.EngineState;
import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.engine.model.ForwardBatch;
import dev.llamaserve.engine.testing.Collector;
import dev.llamaserve.engine.testing.ControlledLm;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Randomized runs of the real engine ({@link LlmEngine} with the fake model and tokenizer of
 * {@link FakeModelEngineTest}) on a KV pool of 64 token slots in blocks of 2, 4 or 8, 2 to 4 sequences and a few
 * tokens a step, 6 events of buffer per consumer and 10 requests of waiting queue: so that prompts are prefilled in
 * chunks, sequences are preempted and recomputed, cached prefix blocks are evicted, consumers fall behind and
 * submissions are refused, all the time. Each seed makes a plan of 48 requests: prompts that start with full blocks of
 * one of three stems (so the prefix cache hits) or not, n of 1 to 3, greedy or seeded sampling (from the client
 * threads, unseeded too now and then) with top_k, min_p and penalties now and then, max_tokens and min_tokens, stop
 * strings, stop token ids and eos made likely by a logit bias, logprobs; consumers that read everything, read one
 * event a step, or stop reading after a few; cancels and aborts a random number of steps after the submission (0:
 * before the engine has seen it; later: while its prompt is prefilled, or while it decodes).
 *
 * <p>The lockstep test plays the plan in step with the engine: every move (submissions among them) is made by the
 * model wrapper at the start of a forward pass, on the engine thread while the step runs, and delivery is on the
 * thread that produces the event; only when the engine has nothing left to do does the test thread submit the next
 * request. A seed therefore replays the same run (one is played twice to check), and its number and the engine's
 * limits are in every message. The other test lets client threads loose on the engine with the same kind of plan.
 *
 * <p>What must hold, whatever the plan:
 * <ol>
 *   <li>every stream that was not cancelled ends exactly once, with the {@code last} event of its final choice after
 *       one {@code Finished} per choice (only an error for a consumer that fell behind may leave choices without
 *       theirs), and no event follows the end (nor, in lockstep, a cancel); an abort ends the request within the step
 *       that was running; nothing waits for ever (every wait is bounded);</li>
 *   <li>every step keeps to the token budget and max-num-seqs, and writes each new token to a slot of its own that no
 *       other sequence of the batch reads;</li>
 *   <li>once everything has ended, no KV block is in use (every block is free or held by the prefix cache alone) and
 *       no request is counted as waiting: a request that needs the whole pool runs, and beside it the waiting queue
 *       takes exactly max-waiting requests;</li>
 *   <li>a choice that ended by itself (stop or length) equals the same request run alone on a fresh engine without
 *       prefix caching, token for token, with the same text, finish and stop reason and logprobs (greedy and seeded
 *       requests), and obeys max_tokens, min_tokens and the stop rules; a choice cut short (cancel, abort, a consumer
 *       behind) produced a prefix of it;</li>
 *   <li>the engine stays {@code READY}; aborts are the only cause of an abort and falling behind the only error.</li>
 * </ol>
 */
class EngineChaosTest {

    private static final FakeModelEngineTest FIXTURE = new FakeModelEngineTest();
    /** The KV pool's token slots: 8 to 32 blocks, by the seed's block size. */
    private static final int KV_SLOTS = 64;
    private static final int STEM = 24;
    private static final int REQUESTS = 48;
    private static final int MAX_BUFFERED = 6;
    private static final int MAX_WAITING = 10;
    private static final int CLIENTS = 3;
    /** A run takes about a second; a wait this long means something hangs. */
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int EOS = FakeModelEngineTest.EOS.get(0);
    private static final List<String> STOP_STRINGS = List.of("ka", "vi", " lo", "tovi", "nemi", "su");

    private final List<LlmEngine> engines = new ArrayList<>();

    @AfterEach
    void closeEngines() {
        engines.forEach(LlmEngine::close);
    }

    private LlmEngine start(ControlledLm lm, EngineOptions options) {
        LlmEngine e = LlmEngine.start(lm, FIXTURE.detokenizer(), FIXTURE.modelInfo(), options);
        engines.add(e);
        return e;
    }

    /**
     * A seed's engine: blocks of 2, 4 or 8 tokens, 2 to 4 sequences and 2 to 26 tokens a step, prefix caching on
     * (but one seed in five).
     */
    record Limits(int blockSize, int maxNumSeqs, int maxNumBatchedTokens, boolean prefixCaching) {
        EngineOptions options() {
            return EngineOptions.defaults().withDrainTimeout(Duration.ofSeconds(5)).withBlockSize(blockSize)
                    .withPrefixCaching(prefixCaching).withKvTokenBudget(KV_SLOTS)
                    .withBatchLimits(maxNumBatchedTokens, maxNumSeqs)
                    .withMaxBufferedEvents(MAX_BUFFERED).withMaxWaiting(MAX_WAITING);
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void aRandomMixOfRequestsInLockstepKeepsTheEnginesInvariants(long seed) {
        ControlledLm lm = new ControlledLm(FIXTURE.newModel());
        Lockstep run = play(seed, lm);
        Plan plan = run.plan;
        LlmEngine engine = run.engine;

        String at = "seed " + seed + " " + plan.limits + ": ";
        assertEquals(List.of(), run.problems, at + "what the steps broke");
        EngineStats s = assertPoolWhole(at, engine);
        assertTrue(s.preemptions() > 0, at + "the run preempted nothing, so checked little: " + s);
        assertEquals(plan.limits.prefixCaching(), s.prefixCacheHitTokens() > 0,
                at + "prefix caching " + plan.limits.prefixCaching() + ", yet prompt tokens hit: " + s);
        checkAll(at, plan, run.readers);
        assertWholePoolRunsAndTheQueueIsWhole(at, plan, engine, lm, run, MAX_WAITING);
    }

    /** A seed played twice gives the same run, event for event: what makes a failing seed reproduce. */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {3})
    void aSeedInLockstepReplaysTheSameRun(long seed) {
        Lockstep first = play(seed, new ControlledLm(FIXTURE.newModel()));
        Lockstep second = play(seed, new ControlledLm(FIXTURE.newModel()));
        assertEquals(first.fingerprint(), second.fingerprint(), "seed " + seed);
    }

    /** Plays a seed's plan in lockstep on a fresh engine around {@code lm}, to the end: every stream read. */
    private Lockstep play(long seed, ControlledLm lm) {
        Plan plan = new Plan(seed, false);
        Lockstep run = new Lockstep(plan, start(lm, plan.limits.options()));
        lm.beforeForward(run::onStep);
        run.drive();
        run.flush();
        return run;
    }

    /**
     * The same kind of plan, without the lockstep: three client threads submit their share of it at once, with the
     * engine's own delivery threads, consumers that cancel or abort from the delivery thread after a few events
     * (or from the client thread at once), and a buffer no consumer fills. The interleaving is the machine's, so a
     * seed replays the plan, not the run; the invariants are the same, but a cancel may let events already on their
     * way through (Reactive Streams lets a publisher stop only eventually).
     */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {101, 102, 103, 104})
    void clientsOnSeveralThreadsKeepTheEnginesInvariants(long seed) throws InterruptedException {
        Plan plan = new Plan(seed, true);
        ControlledLm lm = new ControlledLm(FIXTURE.newModel());
        LlmEngine engine = start(lm, plan.limits.options().withMaxBufferedEvents(4096).withMaxWaiting(64));
        String at = "seed " + seed + " " + plan.limits + ": ";
        List<Reader> readers = Collections.synchronizedList(new ArrayList<>());
        List<String> problems = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> clients = new ArrayList<>();
        for (int t = 0; t < CLIENTS; t++) {
            int first = t;
            Thread client = new Thread(() -> {
                try {
                    go.await();
                    for (int k = first; k < plan.requests.size(); k += CLIENTS) {
                        Reader r = new Reader(plan.requests.get(k), engine, false, 0);
                        readers.add(r);
                        engine.submit(r.planned.request()).subscribe(r);
                        if (r.planned.end() != End.NONE && r.endAfterEvents() == 0) {
                            r.end();
                        }
                    }
                } catch (Throwable e) {
                    problems.add(Thread.currentThread().getName() + ": " + e);
                }
            }, "chaos-client-" + t);
            client.start();
            clients.add(client);
        }
        go.countDown();
        for (Thread client : clients) {
            client.join(WAIT.toMillis());
            assertFalse(client.isAlive(), at + client.getName() + " is stuck");
        }
        assertEquals(List.of(), problems, at);
        for (Reader r : readers) {
            if (r.planned.demand() != Demand.STOPPED) {
                EngineContractTest.await(() -> r.ends.get() > 0 || r.cancelled,
                        at + r.planned.id() + " ends or is cancelled", WAIT);
            }
        }
        // What is left runs for consumers that stopped reading; it ends by itself, then they read the rest.
        EngineContractTest.await(() -> quiet(engine.stats()), at + "the engine finishes", WAIT);
        for (Reader r : readers) {
            if (!r.cancelled) {
                r.events.subscription.request(Long.MAX_VALUE);
                EngineContractTest.await(() -> r.ends.get() > 0 || r.cancelled, at + r.planned.id() + " ends", WAIT);
            }
        }
        assertPoolWhole(at, engine);
        checkAll(at, plan, readers);
        assertWholePoolRunsAndTheQueueIsWhole(at, plan, engine, lm, new Object(), 64);
    }

    private static boolean quiet(EngineStats s) {
        return s.running() == 0 && s.waiting() == 0 && s.kvBlocksUsed() == 0;
    }

    /** Nothing runs or waits, every block is free or held by the prefix cache alone, and the engine is ready. */
    private static EngineStats assertPoolWhole(String at, LlmEngine engine) {
        EngineStats s = engine.stats();
        assertEquals(EngineState.READY, s.state(), at + s);
        assertEquals(0, s.running(), at + s);
        assertEquals(0, s.waiting(), at + s);
        assertEquals(0, s.kvBlocksUsed(), at + "every block is free or only cached: " + s);
        assertTrue(s.kvBlocksCached() <= s.kvBlocksTotal(), at + s);
        return s;
    }

    private void checkAll(String at, Plan plan, List<Reader> readers) {
        int compared = 0;
        synchronized (readers) {
            for (Reader r : readers) {
                compared += check(at, plan.limits.blockSize(), r);
            }
        }
        assertTrue(compared > 0, at + "no choice was compared with its run alone");
    }

    /**
     * Afterwards a request that needs every block of the pool (so the cached ones must all be evicted, and none may
     * have leaked) runs, and gives what it gives alone; and while it runs its first step, the waiting queue takes
     * exactly {@code maxWaiting} requests more (none of the earlier ones is still counted), which then end aborted.
     *
     * @param lock held while submitting and subscribing, so that no step's events precede the subscription
     */
    private void assertWholePoolRunsAndTheQueueIsWhole(String at, Plan plan, LlmEngine engine, ControlledLm lm,
            Object lock, int maxWaiting) {
        int[] prompt = concat(plan.stems[0], plan.tokens(5));
        SamplingParams whole = SamplingParams.builder().temperature(0.0).ignoreEos(true).logprobs(1)
                .maxTokens(KV_SLOTS + 1 - prompt.length).build();
        String id = plan.requests.get(0).id() + "-whole-pool";
        Collector all = new Collector();
        lm.gated(true);
        synchronized (lock) {
            engine.submit(new GenerationRequest(id, prompt, whole), Runnable::run).subscribe(all);
        }
        EngineContractTest.await(lm::blocked, at + "the whole-pool request's first step runs", WAIT);
        List<Collector> queued = new ArrayList<>();
        try {
            while (queued.size() <= maxWaiting) {
                Collector c = new Collector();
                engine.submit(new GenerationRequest(id + "-queued-" + queued.size(), plan.tokens(3),
                        SamplingParams.greedy(1)), Runnable::run).subscribe(c);
                queued.add(c);
            }
        } catch (EngineException.Overloaded full) {
            // as it should, once maxWaiting are queued
        }
        assertEquals(maxWaiting, queued.size(), at + "requests the waiting queue took beside a running one");
        for (int i = 0; i < queued.size(); i++) {
            assertTrue(engine.abort(id + "-queued-" + i), at);
        }
        lm.gated(false);
        for (Collector c : queued) {
            assertEquals(FinishReason.ABORT, c.await(WAIT).reason(), at);
            assertEquals(0, c.tokenCount(), at);
        }
        EngineEvent.Finished f = all.await(WAIT);
        assertEquals(FinishReason.LENGTH, f.reason(), at + f);
        Collector alone = alone(prompt, whole);
        assertArrayEquals(alone.tokens(), all.tokens(), at + "the whole-pool request");
        assertEquals(alone.logprobs(), all.logprobs(), at + "the whole-pool request");
        assertEquals(EngineState.READY, engine.stats().state(), at);
    }

    // ------------------------------------------------------------------ the plan

    enum Demand { EAGER, SLOW, STOPPED }

    enum End { NONE, CANCEL, ABORT }

    /**
     * One request of a plan and how its consumer behaves.
     *
     * @param comparable greedy or seeded: its choices can be compared with a run alone
     * @param initialDemand events a slow or stopping consumer asks for on subscribing
     * @param endAfter steps after the submission at which it is cancelled or aborted
     * @param gap steps after the previous submission at which it is submitted
     */
    record Planned(String id, int[] prompt, SamplingParams params, boolean comparable, Demand demand,
            int initialDemand, End end, int endAfter, int gap) {

        GenerationRequest request() {
            return new GenerationRequest(id, prompt, params);
        }
    }

    /** A seed's requests, drawn from its own random stream. */
    static final class Plan {
        final long seed;
        /** Some requests sample without a seed (their outputs, and so the run, differ from one run to the next). */
        final boolean unseeded;
        final SplittableRandom rnd;
        final Limits limits;
        final int[][] stems = new int[3][];
        final List<Planned> requests = new ArrayList<>();

        Plan(long seed, boolean unseeded) {
            this.seed = seed;
            this.unseeded = unseeded;
            rnd = new SplittableRandom(seed);
            // Consecutive seeds take turns with the block size, the sequences and (one in five) caching off.
            int seqs = 2 + (int) (seed / 3 % 3);
            limits = new Limits(2 << (int) (seed % 3), seqs, seqs + rnd.nextInt(23), seed % 5 != 4);
            for (int s = 0; s < stems.length; s++) {
                stems[s] = tokens(STEM);
            }
            for (int k = 0; k < REQUESTS; k++) {
                requests.add(next("s" + seed + "-r" + k));
            }
        }

        /** Word tokens of the fake tokenizer (no byte, no special token). */
        int[] tokens(int n) {
            int[] t = new int[n];
            for (int i = 0; i < n; i++) {
                t[i] = 256 + rnd.nextInt(333);
            }
            return t;
        }

        Planned next(String id) {
            int[] prompt;
            if (rnd.nextInt(10) < 7) {
                int[] stem = stems[rnd.nextInt(stems.length)];
                int blocks = 1 + rnd.nextInt(STEM / limits.blockSize());
                prompt = concat(Arrays.copyOf(stem, blocks * limits.blockSize()), tokens(rnd.nextInt(7)));
            } else {
                prompt = tokens(1 + rnd.nextInt(30));
            }
            int room = KV_SLOTS + 1 - prompt.length;   // prompt + max_tokens - 1 slots must fit the pool
            int maxTokens = 1 + rnd.nextInt(Math.min(40, room));
            SamplingParams.Builder p = SamplingParams.builder().maxTokens(maxTokens);
            int sampling = rnd.nextInt(unseeded ? 10 : 9);
            if (sampling < 5) {
                p.temperature(0.0);
            } else if (sampling < 9) {
                p.temperature(0.6 + 0.8 * rnd.nextDouble()).topP(rnd.nextBoolean() ? 1.0 : 0.9)
                        .seed(rnd.nextLong(1, 1L << 40));
            } else {
                p.temperature(1.0);
            }
            if (sampling >= 5 && rnd.nextInt(3) == 0) {
                p.topK(rnd.nextBoolean() ? 0 : 1 + rnd.nextInt(50)).minP(rnd.nextBoolean() ? 0.0 : 0.05);
            }
            if (rnd.nextInt(5) == 0) {
                p.frequencyPenalty(rnd.nextDouble() - 0.5).presencePenalty(rnd.nextDouble() - 0.5)
                        .repetitionPenalty(0.8 + 0.6 * rnd.nextDouble());
            }
            int n = rnd.nextInt(10) < 6 ? 1 : 2 + rnd.nextInt(2);
            p.n(n);
            if (rnd.nextInt(10) < 4) {
                p.minTokens(1 + rnd.nextInt(maxTokens));
            }
            p.ignoreEos(rnd.nextInt(5) == 0);
            Map<Integer, Double> bias = new HashMap<>();
            if (rnd.nextInt(10) < 4) {
                List<String> stops = new ArrayList<>(STOP_STRINGS);
                Collections.shuffle(stops, new java.util.Random(rnd.nextLong()));
                p.stop(stops.subList(0, 1 + rnd.nextInt(2)));
            }
            if (rnd.nextInt(10) < 3) {
                int stopId = 256 + rnd.nextInt(333);
                Set<Integer> ids = new HashSet<>(Set.of(stopId));
                if (rnd.nextBoolean()) {
                    ids.add(256 + rnd.nextInt(333));
                }
                p.stopTokenIds(ids);
                bias.put(stopId, 4.5);   // so that it is sampled now and then
            }
            if (rnd.nextInt(10) < 2) {
                bias.put(EOS, 4.5);
            }
            p.logitBias(bias);
            if (rnd.nextBoolean()) {
                p.logprobs(rnd.nextInt(4));
            }
            int demand = rnd.nextInt(20);
            Demand d = demand < 13 ? Demand.EAGER : demand < 17 ? Demand.SLOW : Demand.STOPPED;
            int end = rnd.nextInt(20);
            End e = end < 15 ? End.NONE : end < 18 ? End.CANCEL : End.ABORT;
            int gap = rnd.nextInt(4) == 0 ? 0 : 1 + rnd.nextInt(8);
            return new Planned(id, prompt, p.build(), sampling < 9, d, 1 + rnd.nextInt(4), e, rnd.nextInt(13), gap);
        }
    }

    // ------------------------------------------------------------------ the run

    /** A consumer of one request's stream, recording what it gets into a {@link Collector}, checking its ends. */
    static final class Reader implements Flow.Subscriber<EngineEvent> {
        final Planned planned;
        final Collector events;
        final LlmEngine engine;
        /** No event may follow a cancel (true where cancels and deliveries are on one thread). */
        final boolean strict;
        /** The forward pass during which (or after which, at idle) it was submitted (lockstep only). */
        final int submittedAt;
        final AtomicInteger ends = new AtomicInteger();
        final AtomicInteger received = new AtomicInteger();
        final List<String> violations = Collections.synchronizedList(new ArrayList<>());
        volatile boolean cancelled;
        volatile boolean abortSent;
        /** The tokens it had received when it aborted its request (-1: it did not). */
        volatile int tokensAtAbort = -1;

        Reader(Planned planned, LlmEngine engine, boolean strict, int submittedAt) {
            this.planned = planned;
            this.engine = engine;
            this.strict = strict;
            this.submittedAt = submittedAt;
            this.events = new Collector(planned.demand() == Demand.EAGER ? Long.MAX_VALUE : planned.initialDemand());
        }

        /** Without lockstep: the events after which it cancels or aborts (0: as soon as it is submitted). */
        int endAfterEvents() {
            return planned.endAfter() / 2;
        }

        /** Cancels its subscription or aborts its request, as planned (once). */
        void end() {
            if (planned.end() == End.CANCEL && !cancelled) {
                cancelled = true;
                events.subscription.cancel();
            } else if (planned.end() == End.ABORT && !abortSent) {
                abortSent = true;
                tokensAtAbort = events.tokenCount();
                engine.abort(planned.id());
            }
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            events.onSubscribe(s);
        }

        @Override
        public void onNext(EngineEvent e) {
            if (ends.get() > 0) {
                violations.add("an event after the end: " + e);
            }
            if (strict && cancelled) {
                violations.add("an event after the cancel: " + e);
            }
            events.onNext(e);
            if (!strict) {
                int k = received.incrementAndGet();
                if (planned.end() != End.NONE && k == endAfterEvents()) {
                    end();
                }
                if (planned.demand() == Demand.SLOW && !cancelled) {
                    events.subscription.request(1);
                }
            }
        }

        @Override
        public void onError(Throwable t) {
            ends.incrementAndGet();
            events.onError(t);
        }

        @Override
        public void onComplete() {
            ends.incrementAndGet();
            events.onComplete();
        }

        /**
         * Nothing more to wait for from the test's side: it ended, it was cancelled, or it is a consumer that reads
         * only on demand and has had an event (the engine's own counts then tell whether it still runs). A request
         * the engine has not scheduled yet is never settled, so that its counts are not read before they count it.
         */
        boolean settled() {
            return ends.get() > 0 || cancelled || (planned.demand() != Demand.EAGER && !events.events.isEmpty());
        }
    }

    /** A plan played in lockstep with the engine: its moves are made at the start of each forward pass. */
    static final class Lockstep {
        final Plan plan;
        final LlmEngine engine;
        /** Every submitted request's consumer, in submission order (guarded by this). */
        final List<Reader> readers = new ArrayList<>();
        final List<String> problems = Collections.synchronizedList(new ArrayList<>());
        /** Forward passes begun: the run's clock. */
        volatile int calls;
        private int next;
        private int lastSubmitAt;
        int refused;

        Lockstep(Plan plan, LlmEngine engine) {
            this.plan = plan;
            this.engine = engine;
        }

        /**
         * Engine thread, at the start of a forward pass: checks the batch against the limits (its new tokens and
         * sequences; every token written to a slot of its own, which no other sequence of the batch reads), then
         * makes the plan's submissions and moves for this step.
         */
        void onStep(ForwardBatch batch) {
            try {
                synchronized (this) {
                    calls++;
                    checkBatch(batch);
                    while (next < plan.requests.size() && calls - lastSubmitAt >= plan.requests.get(next).gap()) {
                        submit(plan.requests.get(next++));
                    }
                    for (Reader r : readers) {
                        move(r);
                    }
                }
            } catch (Throwable t) {   // never into the engine: it would fail the step's requests
                problems.add("step " + calls + ": " + t);
            }
        }

        private void checkBatch(ForwardBatch b) {
            Limits l = plan.limits;
            if (b.numTokens() > l.maxNumBatchedTokens() || b.numSequences() > l.maxNumSeqs()) {
                problems.add("step " + calls + ": " + b.numTokens() + " tokens of " + b.numSequences() + " sequences");
            }
            Map<Integer, Integer> writer = new HashMap<>();
            for (int q = 0; q < b.numSequences(); q++) {
                for (int t = b.queryStart()[q]; t < b.queryStart()[q] + b.queryLen()[q]; t++) {
                    if (writer.put(b.slotMapping()[t], q) != null) {
                        problems.add("step " + calls + ": slot " + b.slotMapping()[t] + " written twice");
                    }
                }
            }
            for (int q = 0; q < b.numSequences(); q++) {
                for (int slot : b.contextSlots()[q]) {
                    Integer w = writer.get(slot);
                    if (w != null && w != q) {
                        problems.add("step " + calls + ": slot " + slot + " read by sequence " + q + " is written by "
                                + w);
                    }
                }
            }
        }

        /** Submits and subscribes (the delivery on the thread that produces the event); a full queue refuses it. */
        private void submit(Planned p) {
            lastSubmitAt = calls;
            Flow.Publisher<EngineEvent> stream;
            try {
                stream = engine.submit(p.request(), Runnable::run);
            } catch (EngineException.Overloaded e) {
                refused++;
                return;
            }
            Reader r = new Reader(p, engine, true, calls);
            readers.add(r);
            stream.subscribe(r);
        }

        private void move(Reader r) {
            if (r.ends.get() > 0 || r.cancelled) {
                return;
            }
            if (calls - r.submittedAt >= r.planned.endAfter()) {
                r.end();
            }
            if (r.planned.demand() == Demand.SLOW && !r.cancelled) {
                r.events.subscription.request(1);
            }
        }

        /** Test thread: plays the plan to its end, submitting the next request itself whenever the engine idles. */
        void drive() {
            while (true) {
                EngineContractTest.await(this::idle, "seed " + plan.seed + ": the engine has done what it was given",
                        WAIT);
                synchronized (this) {
                    if (next == plan.requests.size()) {
                        return;
                    }
                    submit(plan.requests.get(next++));
                }
            }
        }

        /**
         * No forward pass began while the engine counted nothing running or waiting and every submitted request was
         * settled: the engine has nothing left but perhaps the aborts of cancelled requests, which take no step.
         */
        private boolean idle() {
            int before = calls;
            EngineStats s = engine.stats();
            boolean settled;
            synchronized (this) {
                settled = readers.stream().allMatch(Reader::settled);
            }
            return s.running() == 0 && s.waiting() == 0 && settled && calls == before;
        }

        /** What the run did: each submitted request's events in order, the refusals, the engine's counters. */
        String fingerprint() {
            StringBuilder sb = new StringBuilder();
            for (Reader r : readers) {
                sb.append(r.planned.id()).append(':');
                for (EngineEvent e : r.events.events) {
                    if (e instanceof EngineEvent.Tokens t) {
                        sb.append(" t").append(t.index()).append(Arrays.toString(t.tokenIds()));
                    } else if (e instanceof EngineEvent.Finished f) {
                        sb.append(" f").append(f.index()).append(f.reason()).append(f.usage());
                    }
                }
                sb.append('\n');
            }
            EngineStats s = engine.stats();
            return sb.append("refused ").append(refused).append(", steps ").append(s.steps()).append(", preemptions ")
                    .append(s.preemptions()).append(", computed ").append(s.tokensComputed()).append(", hits ")
                    .append(s.prefixCacheHitTokens()).toString();
        }

        /** Test thread, the engine idle: lets every consumer that was not cancelled read what is left. */
        void flush() {
            for (Reader r : readers) {
                if (!r.cancelled) {
                    r.events.subscription.request(Long.MAX_VALUE);
                }
            }
        }
    }

    // ------------------------------------------------------------------ checks

    /** Checks one request's stream against the rules and its run alone; returns the choices compared with it. */
    private int check(String seedAt, int blockSize, Reader c) {
        Planned p = c.planned;
        String at = seedAt + "request " + p.id() + " " + p.params() + " prompt " + p.prompt().length + " tokens, "
                + p.demand() + " " + p.end() + "@" + p.endAfter() + ": ";
        assertEquals(List.of(), c.violations, at);
        int n = p.params().choices();
        List<EngineEvent> events;
        synchronized (c.events.events) {
            events = List.copyOf(c.events.events);
        }
        assertNull(c.events.error, at + "no error signal");
        if (c.cancelled) {
            assertTrue(c.ends.get() <= 1, at + "ends " + c.ends.get() + " times");
        } else {
            assertEquals(1, c.ends.get(), at + "the stream ends exactly once");
            assertTrue(c.events.completed, at);
            assertFalse(events.isEmpty(), at);
            EngineEvent last = events.get(events.size() - 1);
            assertTrue(last instanceof EngineEvent.Finished f && f.last(), at + "the last event ends it: " + last);
        }

        EngineEvent.Finished[] finished = new EngineEvent.Finished[n];
        for (EngineEvent e : events) {
            if (e instanceof EngineEvent.Tokens t) {
                assertTrue(t.index() >= 0 && t.index() < n, at + "choice " + t.index());
                assertNull(finished[t.index()], at + "a token of choice " + t.index() + " after its end");
            } else if (e instanceof EngineEvent.Finished f) {
                assertTrue(f.index() >= 0 && f.index() < n, at + "choice " + f.index());
                assertNull(finished[f.index()], at + "choice " + f.index() + " ends twice");
                finished[f.index()] = f;
                if (f.last()) {
                    assertSame(events.get(events.size() - 1), e, at + "the request's last end is its final event");
                }
                assertEquals(p.prompt().length, f.usage().promptTokens(), at);
                int cached = f.usage().cachedTokens();
                assertTrue(cached % blockSize == 0 && cached < p.prompt().length, at + "cached tokens " + cached);
            }
        }

        Collector alone = p.comparable() ? alone(p.prompt(), p.params()) : null;
        int compared = 0;
        boolean behind = false;
        for (int i = 0; i < n; i++) {
            String ch = at + "choice " + i + ": ";
            int[] tokens = c.events.tokens(i);
            EngineEvent.Finished f = finished[i];
            FinishReason reason = f == null ? null : f.reason();
            if (reason == FinishReason.ERROR) {
                assertNotEquals(Demand.EAGER, p.demand(), ch + "an error, yet the consumer read everything: " + f);
                assertTrue(f.errorMessage().contains("behind"), ch + f);
                assertFalse(f.requestError(), ch + f);
                behind = true;
            }
            if (reason == FinishReason.ABORT) {
                assertTrue(p.end() == End.ABORT || c.cancelled, ch + "aborted, yet nobody aborted it");
            }
            assertTrue(tokens.length <= p.params().maxTokens(), ch + tokens.length + " tokens");
            if (c.cancelled || (reason != FinishReason.STOP && reason != FinishReason.LENGTH)) {
                // Cut short, or cancelled (then what still came is not all there was): what it produced is where its
                // run alone went.
                if (alone != null) {
                    int[] full = alone.tokens(i);
                    boolean prefix = tokens.length <= full.length
                            && Arrays.equals(tokens, Arrays.copyOf(full, tokens.length));
                    assertTrue(prefix,
                            ch + Arrays.toString(tokens) + " is not a prefix of " + Arrays.toString(full));
                }
                continue;
            }
            assertEquals(tokens.length, f.usage().completionTokens(), ch + "every token was delivered");
            checkRules(ch, p.params(), tokens, f, logprobs(c.events, i));
            if (alone != null) {
                EngineEvent.Finished a = finished(alone, i);
                assertArrayEquals(alone.tokens(i), tokens, ch + "tokens against the run alone");
                assertEquals(text(alone, i), text(c.events, i), ch + "text against the run alone");
                assertEquals(a.reason(), f.reason(), ch + "finish reason against the run alone");
                assertEquals(a.stopReason(), f.stopReason(), ch + "stop reason against the run alone");
                assertEquals(logprobs(alone, i), logprobs(c.events, i), ch + "logprobs against the run alone");
                compared++;
            }
        }
        if (c.strict && p.demand() == Demand.EAGER && c.tokensAtAbort >= 0) {
            // In lockstep the abort is taken up once the step that was running ends: one more token a choice at most.
            assertTrue(c.events.tokenCount() <= c.tokensAtAbort + n, at + "aborted after " + c.tokensAtAbort
                    + " tokens, yet it went on to " + c.events.tokenCount());
        }
        if (!c.cancelled && !behind) {
            for (int i = 0; i < n; i++) {
                assertNotNull(finished[i], at + "choice " + i + " has no end");
            }
        }
        return compared;
    }

    /** max_tokens, min_tokens, stop tokens and strings, logprobs: what one finished choice must obey. */
    private static void checkRules(String ch, SamplingParams p, int[] tokens, EngineEvent.Finished f,
            List<EngineEvent.TokenLogprob> lps) {
        Set<Integer> stopIds = new HashSet<>(p.stopTokenIds());
        if (!p.ignoreEos()) {
            stopIds.addAll(FakeModelEngineTest.EOS);
        }
        int count = tokens.length;
        if (f.reason() == FinishReason.LENGTH) {
            assertEquals(p.maxTokens(), count, ch + "length means max_tokens");
            assertNull(f.stopReason(), ch);
        } else {
            assertTrue(count > p.minTokens(), ch + "stopped at " + count + " tokens, min_tokens " + p.minTokens());
            assertNotNull(f.stopReason(), ch);
            if (f.stopReason() instanceof Integer id) {
                assertTrue(stopIds.contains(id), ch + "stop token " + id);
                assertEquals(id, tokens[count - 1], ch + "the stop token is the last token");
            } else {
                assertTrue(p.stop().contains((String) f.stopReason()), ch + "stop string " + f.stopReason());
            }
        }
        int stopTokenAt = f.stopReason() instanceof Integer ? count - 1 : count;
        for (int k = 0; k < stopTokenAt; k++) {
            assertFalse(stopIds.contains(tokens[k]), ch + "stop token " + tokens[k] + " at " + k + " did not stop it");
        }
        if (p.logprobs() == null) {
            assertEquals(List.of(), lps, ch);
        } else {
            assertEquals(count, lps.size(), ch + "one logprob per token");
            for (int k = 0; k < count; k++) {
                assertEquals(tokens[k], lps.get(k).tokenId(), ch);
                assertEquals(p.logprobs().intValue(), lps.get(k).top().size(), ch);
            }
        }
    }

    /** The request run alone, on a fresh engine without prefix caching and with all the model's KV. */
    private Collector alone(int[] prompt, SamplingParams params) {
        LlmEngine e = LlmEngine.start(FIXTURE.newModel(), FIXTURE.detokenizer(), FIXTURE.modelInfo(),
                EngineOptions.defaults().withPrefixCaching(false).withDrainTimeout(Duration.ofSeconds(5)));
        try {
            Collector c = Collector.subscribe(e.submit(new GenerationRequest("alone", prompt, params)));
            c.await(WAIT);
            return c;
        } finally {
            e.close();
        }
    }

    private static EngineEvent.Finished finished(Collector c, int choice) {
        return c.finishedEvents().stream().filter(f -> f.index() == choice).findFirst().orElseThrow();
    }

    private static String text(Collector c, int choice) {
        StringBuilder sb = new StringBuilder();
        synchronized (c.events) {
            for (EngineEvent e : c.events) {
                if (e instanceof EngineEvent.Tokens t && t.index() == choice) {
                    sb.append(t.text());
                } else if (e instanceof EngineEvent.Finished f && f.index() == choice) {
                    sb.append(f.text());
                }
            }
        }
        return sb.toString();
    }

    private static List<EngineEvent.TokenLogprob> logprobs(Collector c, int choice) {
        List<EngineEvent.TokenLogprob> out = new ArrayList<>();
        for (EngineEvent.Tokens t : c.tokenEvents()) {
            if (t.index() == choice) {
                out.addAll(t.logprobs());
            }
        }
        return out;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
