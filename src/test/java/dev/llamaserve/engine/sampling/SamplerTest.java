package dev.llamaserve.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.SamplingParams;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SamplerTest {

    static final int V = 1000;
    static final int EOS = 999;
    static final ModelInfo MODEL = new ModelInfo(4096, V, Set.of(EOS, 998), 0.6, 0.9, false, null);

    private final float[] logits = randomLogits(V, 2.0, 1);
    private final SamplerWorkspace ws = new SamplerWorkspace(V);

    static float[] randomLogits(int n, double scale, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * scale);
        }
        return x;
    }

    static Sampler sampler(SamplingParams p) {
        return new Sampler(SamplingConfig.resolve(p, MODEL, 100), new int[] {1, 2, 3});
    }

    static SamplingParams.Builder t1(long seed) {
        return SamplingParams.builder().temperature(1.0).topP(1.0).seed(seed);
    }

    private int draw(Sampler s) {
        return s.sample(logits, 0, V, ws).token();
    }

    private int argmax() {
        return Sampler.argmax(logits, 0, V);
    }

    /** Tokens sorted by descending logit. */
    private int[] ranked() {
        return IntStream.range(0, V).boxed().sorted(Comparator.comparingDouble(i -> -logits[i]))
                .mapToInt(Integer::intValue).toArray();
    }

    private double[] probs(double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : logits) {
            max = Math.max(max, x);
        }
        double[] p = new double[V];
        double sum = 0;
        for (int i = 0; i < V; i++) {
            p[i] = Math.exp((logits[i] - max) / temperature);
            sum += p[i];
        }
        for (int i = 0; i < V; i++) {
            p[i] /= sum;
        }
        return p;
    }

    @Test
    void defaultsComeFromTheGenerationConfig() {
        SamplingConfig c = SamplingConfig.resolve(SamplingParams.defaults(), MODEL, 50);
        assertEquals(0.6, c.temperature());
        assertEquals(0.9, c.topP());
        assertArrayEquals(new int[] {998, 999}, c.stopTokenIds());
        assertEquals(50, c.maxTokens());
        SamplingConfig ignore = SamplingConfig.resolve(SamplingParams.builder().ignoreEos(true)
                .stopTokenIds(Set.of(5)).build(), MODEL, 50);
        assertArrayEquals(new int[] {5}, ignore.stopTokenIds());
        SamplingDefaults withTopK = new SamplingDefaults(0.7, 0.8, 40, Set.of(EOS));
        SamplingConfig k = SamplingConfig.resolve(SamplingParams.defaults(), withTopK, 50);
        assertEquals(40, k.topK());
        assertEquals(0.7, k.temperature());
        assertEquals(0, SamplingConfig.resolve(SamplingParams.builder().topK(0).build(), withTopK, 50).topK(),
                "a request's top_k overrides the default");
        // generation_config.json's repetition_penalty is the default too (vLLM); a request's own value wins
        SamplingDefaults withPenalty = new SamplingDefaults(0.7, 0.8, 0, Set.of(EOS), 1.3);
        assertEquals(1.3, SamplingConfig.resolve(SamplingParams.defaults(), withPenalty, 50).repetitionPenalty());
        assertEquals(1.0, SamplingConfig.resolve(SamplingParams.builder().repetitionPenalty(1.0).build(), withPenalty,
                50).repetitionPenalty());
        assertEquals(1.0, SamplingConfig.resolve(SamplingParams.defaults(), withTopK, 50).repetitionPenalty());
    }

    @Test
    void temperatureZeroTopK1AndTinyTopPAllEqualGreedy() {
        int greedy = argmax();
        Set<Integer> plain = new HashSet<>();
        for (long seed = 0; seed < 200; seed++) {
            assertEquals(greedy, draw(sampler(SamplingParams.builder().temperature(0.0).seed(seed).build())));
            assertEquals(greedy, draw(sampler(t1(seed).topK(1).build())), "top_k 1");
            assertEquals(greedy, draw(sampler(t1(seed).topP(1e-9).build())), "tiny top_p");
            assertEquals(greedy, draw(sampler(t1(seed).topP(0.0).build())), "top_p 0 (OpenAI allows it)");
            plain.add(draw(sampler(t1(seed).build())));
        }
        assertTrue(plain.size() > 10, "temperature 1 without top_k/top_p samples many tokens: " + plain.size());
    }

    @Test
    void temperatureShapesTheDistribution() {
        float[] small = {2.0f, 1.0f, 0.0f, -1.0f};
        for (double t : new double[] {0.5, 2.0}) {
            Sampler s = new Sampler(SamplingConfig.resolve(SamplingParams.builder().temperature(t).topP(1.0)
                    .seed(7L).build(), new ModelInfo(100, 4, Set.of(), 1, 1, false, null), 100), new int[] {0});
            SamplerWorkspace w = new SamplerWorkspace(4);
            int[] counts = new int[4];
            int n = 40_000;
            for (int i = 0; i < n; i++) {
                counts[s.sample(small, 0, 4, w).token()]++;
            }
            double z = 0;
            for (float x : small) {
                z += Math.exp(x / t);
            }
            for (int i = 0; i < 4; i++) {
                double expected = Math.exp(small[i] / t) / z;
                assertEquals(expected, counts[i] / (double) n, 0.01, "T=" + t + " token " + i);
            }
        }
    }

    @Test
    void logitBiasForcesItsToken() {
        int target = ranked()[500];
        for (long seed = 0; seed < 50; seed++) {
            assertEquals(target, draw(sampler(t1(seed).logitBias(Map.of(target, 100.0)).build())));
            assertNotEquals(target, draw(sampler(t1(seed).build())));
        }
        assertEquals(target, draw(sampler(SamplingParams.builder().temperature(0.0)
                .logitBias(Map.of(target, 100.0)).build())));
    }

    @Test
    void minPRestrictsTheSupport() {
        double[] p = probs(1.0);
        double pmax = Arrays.stream(p).max().orElseThrow();
        Sampler restricted = sampler(t1(3).minP(0.2).build());
        Sampler free = sampler(t1(3).build());
        boolean freeLeft = false;
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 3000; i++) {
            int tok = draw(restricted);
            seen.add(tok);
            assertTrue(p[tok] >= 0.2 * pmax, "token " + tok + " below min_p");
            freeLeft |= p[draw(free)] < 0.2 * pmax;
        }
        assertTrue(freeLeft, "without min_p, tokens below the threshold are drawn");
        long allowed = Arrays.stream(p).filter(x -> x >= 0.2 * pmax).count();
        assertEquals(allowed, seen.size(), "every allowed token is drawn at some point");
    }

    @Test
    void topKRestrictsTheSupport() {
        Set<Integer> top5 = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            top5.add(ranked()[i]);
        }
        Sampler restricted = sampler(t1(4).topK(5).build());
        Sampler free = sampler(t1(4).build());
        Set<Integer> seen = new HashSet<>();
        boolean outside = false;
        for (int i = 0; i < 3000; i++) {
            seen.add(draw(restricted));
            outside |= !top5.contains(draw(free));
        }
        assertEquals(top5, seen);
        assertTrue(outside);
    }

    @Test
    void topPKeepsTheSmallestNucleus() {
        double[] p = probs(1.0);
        int[] r = ranked();
        double acc = 0;
        Set<Integer> nucleus = new HashSet<>();
        for (int t : r) {
            nucleus.add(t);
            acc += p[t];
            if (acc >= 0.5) {
                break;
            }
        }
        Sampler s = sampler(t1(5).topP(0.5).build());
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 5000; i++) {
            seen.add(draw(s));
        }
        assertEquals(nucleus, seen);
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfPromptAndOutput() {
        Sampler s = new Sampler(SamplingConfig.resolve(SamplingParams.builder().repetitionPenalty(2.0).build(),
                MODEL, 100), new int[] {1, 2});
        s.accept(3);
        float[] x = new float[V];
        x[1] = 4f;
        x[2] = -4f;
        x[3] = 1f;
        x[4] = 4f;
        s.process(x, V);
        assertEquals(2f, x[1]);
        assertEquals(-8f, x[2]);
        assertEquals(0.5f, x[3]);
        assertEquals(4f, x[4], "unseen tokens keep their logit");
    }

    @Test
    void frequencyAndPresencePenaltiesCountOutputTokensOnly() {
        Sampler s = new Sampler(SamplingConfig.resolve(SamplingParams.builder().frequencyPenalty(0.5)
                .presencePenalty(0.25).build(), MODEL, 100), new int[] {1});
        s.accept(7);
        s.accept(7);
        s.accept(8);
        float[] x = new float[V];
        x[1] = 1f;
        x[7] = 1f;
        x[8] = 1f;
        s.process(x, V);
        assertEquals(1f, x[1], "prompt tokens are not penalised");
        assertEquals(1f - 2 * 0.5f - 0.25f, x[7], 1e-6);
        assertEquals(1f - 0.5f - 0.25f, x[8], 1e-6);
    }

    @Test
    void penaltiesChangeWhatGreedyPicks() {
        int best = argmax();
        Sampler s = sampler(SamplingParams.builder().temperature(0.0).presencePenalty(2.0).frequencyPenalty(2.0)
                .build());
        assertEquals(best, draw(s));
        s.accept(best);
        s.accept(best);
        assertNotEquals(best, draw(s), "a penalised token loses its lead");
    }

    /**
     * Greedy with nothing to apply reads its row where it lies among the batch's rows, without copying it; a stop id
     * held back by min_tokens (no bias, no penalty) still takes the copy that suppresses it; neither writes the rows.
     */
    @Test
    void greedyReadsItsRowInPlaceUnlessMinTokensHoldsAStopIdBack() {
        float[] rows = new float[3 * V];   // a batch of three rows: this request's is the middle one
        for (int r = 0; r < 3; r++) {
            System.arraycopy(randomLogits(V, 2.0, 10 + r), 0, rows, r * V, V);
        }
        rows[2 * V + 5] = 40f;   // the next row's best, higher than anything in the middle one
        int expected = 0;
        for (int i = 1; i < V; i++) {
            expected = rows[V + i] > rows[V + expected] ? i : expected;
        }
        float[] before = rows.clone();
        SamplingParams greedy = SamplingParams.builder().temperature(0.0).build();
        assertEquals(expected, sampler(greedy).sample(rows, V, V, ws).token());
        rows[V + EOS] = 50f;   // the row's best is now the eos id
        before[V + EOS] = 50f;
        assertEquals(EOS, sampler(greedy).sample(rows, V, V, ws).token());
        Sampler held = sampler(SamplingParams.builder().temperature(0.0).minTokens(1).build());
        assertEquals(expected, held.sample(rows, V, V, ws).token(), "min_tokens 1: the first token is no stop id");
        held.accept(expected);
        assertEquals(EOS, held.sample(rows, V, V, ws).token());
        assertArrayEquals(before, rows, "the batch's logits as they were");
    }

    @Test
    void minTokensSuppressesStopIdsUntilReachedUnlessIgnoreEos() {
        Map<Integer, Double> bias = Map.of(EOS, 100.0);
        Sampler s = sampler(SamplingParams.builder().temperature(0.0).minTokens(2).logitBias(bias).build());
        assertNotEquals(EOS, draw(s));
        s.accept(draw(s));
        assertNotEquals(EOS, draw(s));
        s.accept(draw(s));
        assertEquals(EOS, draw(s), "after min_tokens the eos id is allowed again");
        Sampler ignore = sampler(SamplingParams.builder().temperature(0.0).minTokens(2).ignoreEos(true)
                .logitBias(bias).build());
        assertEquals(EOS, draw(ignore), "with ignore_eos the eos id is no stop id and is not suppressed");
    }

    @Test
    void logprobsAreTheLogSoftmaxOfTheRawLogits() {
        float[] row = new float[V + 10];
        System.arraycopy(logits, 0, row, 10, V);
        int target = ranked()[300];
        Sampler s = sampler(t1(1).logitBias(Map.of(target, 100.0)).logprobs(20).build());
        Sampler.Result r = s.sample(row, 10, V, ws);
        assertEquals(target, r.token());
        double[] p = probs(1.0);
        EngineEvent.TokenLogprob lp = r.logprob();
        assertEquals(target, lp.tokenId());
        assertEquals(Math.log(p[target]), lp.logprob(), 1e-4, "raw logprob, before the bias");
        assertEquals(20, lp.top().size());
        int[] rk = ranked();
        for (int i = 0; i < 20; i++) {
            assertEquals(rk[i], lp.top().get(i).tokenId());
            assertEquals(Math.log(p[rk[i]]), lp.top().get(i).logprob(), 1e-4);
        }
        Sampler none = sampler(t1(1).build());
        assertEquals(null, none.sample(logits, 0, V, ws).logprob());
        Sampler zero = sampler(t1(1).logprobs(0).build());
        assertEquals(List.of(), zero.sample(logits, 0, V, ws).logprob().top());
    }

    @Test
    void seededSamplingIsReproducibleAndIndependentOfOtherRequests() {
        int[] alone = new int[50];
        Sampler a = sampler(t1(42).build());
        for (int i = 0; i < 50; i++) {
            alone[i] = draw(a);
        }
        Sampler a2 = sampler(t1(42).build());
        Sampler other = sampler(t1(43).build());
        int[] mixed = new int[50];
        int[] otherDraws = new int[50];
        for (int i = 0; i < 50; i++) {
            otherDraws[i] = draw(other);
            mixed[i] = draw(a2);
            draw(sampler(SamplingParams.builder().temperature(0.7).build()));
        }
        assertArrayEquals(alone, mixed);
        assertTrue(!Arrays.equals(alone, otherDraws), "another seed draws differently");
    }
}
