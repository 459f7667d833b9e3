package dev.llamaserve.engine.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.engine.testing.Collector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Requests that share KV: automatic prefix caching. Runs against the model, tokenizer and prompts of an
 * {@link EngineContractTest} fixture (the fake model here, the real tiny checkpoint in the IT).
 */
abstract class SharedKvContract {

    private static final Duration WAIT = Duration.ofSeconds(120);
    private final EngineContractTest fixture;
    private final List<LlmEngine> engines = new ArrayList<>();
    private final AtomicInteger ids = new AtomicInteger();

    SharedKvContract(EngineContractTest fixture) {
        this.fixture = fixture;
    }

    @AfterEach
    void closeEngines() {
        engines.forEach(LlmEngine::close);
    }

    LlmEngine engine(boolean prefixCaching) {
        LlmEngine e = LlmEngine.start(fixture.newModel(), fixture.detokenizer(), fixture.modelInfo(),
                EngineOptions.defaults().withDrainTimeout(Duration.ofSeconds(5)).withPrefixCaching(prefixCaching));
        engines.add(e);
        return e;
    }

    Collector run(LlmEngine e, int[] prompt, SamplingParams p) {
        Collector c = Collector.subscribe(e.submit(new GenerationRequest("req-" + ids.incrementAndGet(), prompt, p)));
        c.await(WAIT);
        return c;
    }

    static SamplingParams greedyWithLogprobs(int maxTokens) {
        return SamplingParams.builder().temperature(0.0).maxTokens(maxTokens).ignoreEos(true).logprobs(5).build();
    }

    int[] concat(int[] a, int[] b) {
        int[] out = new int[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Logprobs of a run with the prefix cached equal a cold run's within this (0 for the fake model). */
    abstract double logprobTolerance();

    static void assertSameLogprobs(List<EngineEvent.TokenLogprob> expected, List<EngineEvent.TokenLogprob> actual,
            double tolerance) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            EngineEvent.TokenLogprob x = expected.get(i);
            EngineEvent.TokenLogprob y = actual.get(i);
            assertEquals(x.tokenId(), y.tokenId(), "token " + i);
            assertEquals(x.logprob(), y.logprob(), tolerance, "logprob of token " + i);
            for (int k = 0; k < x.top().size(); k++) {
                assertEquals(x.top().get(k).tokenId(), y.top().get(k).tokenId(), "top " + k + " of token " + i);
                assertEquals(x.top().get(k).logprob(), y.top().get(k).logprob(), tolerance, "top " + k + " of token " + i);
            }
        }
    }

    @Test
    void aRequestSharingALongPrefixComputesOnlyItsUncachedTokensAndGivesTheColdLogprobs() {
        int[] shared = fixture.prompt(1000, 1);
        int[] prompt = concat(shared, fixture.prompt(40, 2));
        int maxTokens = 6;
        Collector cold = run(engine(false), prompt, greedyWithLogprobs(maxTokens));
        assertEquals(0, cold.await().usage().cachedTokens());

        LlmEngine e = engine(true);
        Collector other = run(e, concat(shared, fixture.prompt(25, 3)), greedyWithLogprobs(2));
        assertEquals(0, other.await().usage().cachedTokens(), "nothing was cached yet");
        long computedBefore = e.stats().tokensComputed();
        Collector warm = run(e, prompt, greedyWithLogprobs(maxTokens));

        int cached = 1000 / 16 * 16; // the full blocks of the shared prefix
        assertEquals(cached, warm.await().usage().cachedTokens());
        assertEquals(prompt.length, warm.await().usage().promptTokens());
        assertEquals(prompt.length - cached + maxTokens - 1, e.stats().tokensComputed() - computedBefore,
                "the prefill ran only the uncached tokens (then one token per decode step)");
        assertArrayEquals(cold.tokens(), warm.tokens());
        assertSameLogprobs(cold.logprobs(), warm.logprobs(), logprobTolerance());
        assertEquals(cached, e.stats().prefixCacheHitTokens());
    }

    // ------------------------------------------------------------------ n > 1

    static SamplingParams sampled(int maxTokens, Long seed, int n) {
        return SamplingParams.builder().temperature(1.0).topP(1.0).maxTokens(maxTokens).ignoreEos(true).seed(seed)
                .n(n).build();
    }

    @Test
    void nChoicesWithASeedAreReproducibleAndEachEqualsASingleRunWithTheDerivedSeed() {
        int[] prompt = fixture.prompt(100, 7);
        LlmEngine e = engine(true);
        Collector four = run(e, prompt, sampled(8, 1234L, 4));
        Collector again = run(e, prompt, sampled(8, 1234L, 4));
        List<int[]> distinct = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            assertEquals(8, four.tokens(i).length, "choice " + i);
            assertArrayEquals(four.tokens(i), again.tokens(i), "choice " + i + " is reproducible");
            Collector single = run(engine(false), prompt, sampled(8, 1234L + i, 1));
            assertArrayEquals(single.tokens(), four.tokens(i), "choice " + i + " = a single run with seed 1234 + " + i);
            distinct.add(four.tokens(i));
        }
        assertFalse(Arrays.equals(distinct.get(0), distinct.get(1)) && Arrays.equals(distinct.get(0), distinct.get(2)),
                "different seeds, different samples");
    }

    @Test
    void nChoicesPrefillThePromptOnceAndEndWithOneFinishedEachTheLastOneLast() {
        int[] prompt = fixture.prompt(100, 8);
        int maxTokens = 5;
        LlmEngine e = engine(true);
        long before = e.stats().tokensComputed();
        Collector c = run(e, prompt, sampled(maxTokens, 99L, 4));
        int cached = (prompt.length - 1) / 16 * 16; // the prompt's full blocks, shared by the 3 siblings
        assertEquals(prompt.length + 3 * (prompt.length - cached) + 4 * (maxTokens - 1),
                e.stats().tokensComputed() - before, "choice 0 prefills; the others compute only the partial block");
        List<EngineEvent.Finished> ends = c.finishedEvents();
        assertEquals(4, ends.size());
        Set<Integer> indexes = new HashSet<>();
        for (int k = 0; k < 4; k++) {
            EngineEvent.Finished f = ends.get(k);
            indexes.add(f.index());
            assertEquals(k == 3, f.last());
            assertEquals(prompt.length, f.usage().promptTokens());
            assertEquals(maxTokens, f.usage().completionTokens());
            assertEquals(f.index() == 0 ? 0 : cached, f.usage().cachedTokens(), "choice " + f.index());
        }
        assertEquals(Set.of(0, 1, 2, 3), indexes);
        for (EngineEvent.Tokens t : c.tokenEvents()) {
            assertTrue(t.index() >= 0 && t.index() < 4);
        }
    }

    @Test
    void abortingARequestAbortsAllItsChoices() {
        LlmEngine e = engine(true);
        String id = "abort-n";
        Collector c = Collector.subscribe(e.submit(new GenerationRequest(id, fixture.prompt(40, 9),
                sampled(4000, 5L, 3))));
        long end = System.nanoTime() + WAIT.toNanos();
        while (c.tokenEvents().stream().map(EngineEvent.Tokens::index).distinct().count() < 3) {
            assertTrue(System.nanoTime() < end, "all three choices produce tokens");
            Thread.onSpinWait();
        }
        assertTrue(e.abort(id));
        c.await(WAIT);
        List<EngineEvent.Finished> ends = c.finishedEvents();
        assertEquals(3, ends.size());
        for (EngineEvent.Finished f : ends) {
            assertEquals(EngineEvent.FinishReason.ABORT, f.reason());
        }
        assertEquals(0, e.stats().kvBlocksUsed(), "every choice's KV is released");
    }
}
