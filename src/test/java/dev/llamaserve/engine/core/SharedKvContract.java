package dev.llamaserve.engine.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.engine.testing.Collector;
import java.time.Duration;
import java.util.ArrayList;
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
}
