package dev.llamaserve.engine.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The grammar mask hook: only allowed tokens are sampled, temperature/top-p act inside the allowed set. */
class AllowedTokensTest {

    private static SamplingConfig config(double temperature, double topP, long seed, int minTokens, int[] stops) {
        return new SamplingConfig(temperature, topP, 0, 0.0, seed, 0, 0, 1.0, new int[0], new float[0], 100, minTokens,
                false, stops, List.of(), -1);
    }

    private static long[] mask(int vocab, int... ids) {
        long[] m = new long[(vocab + 63) / 64];
        for (int id : ids) {
            m[id >>> 6] |= 1L << id;
        }
        return m;
    }

    @Test
    void greedyPicksTheBestAllowedToken() {
        float[] logits = new float[130];
        logits[5] = 10;
        logits[70] = 3;
        logits[129] = 4;
        Sampler s = new Sampler(config(0, 1, 1, 0, new int[0]), new int[0]);
        assertThat(s.sample(logits, 0, 130, new SamplerWorkspace(130), mask(130, 70, 129)).token()).isEqualTo(129);
        assertThat(s.sample(logits, 0, 130, new SamplerWorkspace(130), null).token()).isEqualTo(5);
    }

    @Test
    void samplingDrawsOnlyAllowedTokensInProportion() {
        float[] logits = new float[200];
        logits[3] = 50;
        logits[150] = (float) Math.log(3);
        Sampler s = new Sampler(config(1.0, 1.0, 42, 0, new int[0]), new int[0]);
        SamplerWorkspace ws = new SamplerWorkspace(200);
        long[] allowed = mask(200, 10, 150);
        int hits150 = 0;
        for (int i = 0; i < 4000; i++) {
            int t = s.sample(logits, 0, 200, ws, allowed).token();
            assertThat(t).isIn(10, 150);
            hits150 += t == 150 ? 1 : 0;
        }
        assertThat(hits150 / 4000.0).isBetween(0.70, 0.80); // weights 3 : 1
    }

    @Test
    void theMaskWinsOverMinTokensWhenOnlyAStopTokenIsAllowed() {
        float[] logits = new float[64];
        Sampler s = new Sampler(config(1.0, 1.0, 7, 5, new int[] {9}), new int[0]);
        assertThat(s.sample(logits, 0, 64, new SamplerWorkspace(64), mask(64, 9)).token()).isEqualTo(9);
    }

    @Test
    void applyReportsWhetherAnyAllowedLogitIsFinite() {
        float[] x = {1, Float.NEGATIVE_INFINITY, 2};
        assertThat(AllowedTokens.apply(x.clone(), 3, mask(3, 1))).isFalse();
        float[] y = x.clone();
        assertThat(AllowedTokens.apply(y, 3, mask(3, 0, 1))).isTrue();
        assertThat(y[2]).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(y[0]).isEqualTo(1);
    }
}
