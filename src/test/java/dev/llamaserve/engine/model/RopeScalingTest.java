package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class RopeScalingTest {

    private static final RopeScaling LLAMA31 = new RopeScaling(RopeScaling.Kind.LLAMA3, 8.0, 1.0, 4.0, 8192);

    @Test
    void defaultIsThetaToTheMinusTwoIOverD() {
        double[] inv = RopeScaling.NONE.inverseFrequencies(10000, 8);
        assertThat(inv).containsExactly(new double[] {1.0, 0.1, 0.01, 0.001}, within(1e-15));
    }

    /**
     * Llama 3.1 (head_dim 128, theta 500000): wavelengths 2π/inv below 8192/4 = 2048 tokens are kept
     * (i = 0..28), above 8192/1 tokens divided by 8 (i = 35..63), and in between (i = 29..34)
     * interpolated with weight s = (8192/wavelength − 1) / (4 − 1) on the unscaled frequency.
     * Expected values are computed here from the wavelength of each pair, written independently of
     * the implementation (and the band limits were checked with a separate script).
     */
    @Test
    void llama3ScalingMatchesTheThreeBands() {
        double[] inv = LLAMA31.inverseFrequencies(500000, 128);
        assertThat(inv).hasSize(64);
        int kept = 0;
        int scaled = 0;
        int smoothed = 0;
        for (int i = 0; i < 64; i++) {
            double wavelength = 2 * Math.PI * Math.pow(500000, i / 64.0);
            double base = 2 * Math.PI / wavelength;
            double expected;
            if (i <= 28) {
                assertThat(wavelength).isLessThan(2048);
                expected = base;
                kept++;
            } else if (i >= 35) {
                assertThat(wavelength).isGreaterThan(8192);
                expected = base / 8;
                scaled++;
            } else {
                assertThat(wavelength).isBetween(2048.0, 8192.0);
                double s = (8192 / wavelength - 1) / 3;
                expected = base * (s + (1 - s) / 8);
                smoothed++;
            }
            assertThat(inv[i]).as("inv_freq[%d]", i).isCloseTo(expected, within(Math.abs(expected) * 1e-12));
        }
        assertThat(new int[] {kept, smoothed, scaled}).containsExactly(29, 6, 29);
        assertThat(inv[0]).isEqualTo(1.0);
        // One mid-band value computed separately in float64 (Python): i = 30.
        assertThat(inv[30]).isCloseTo(0.0013718935677611381, within(1e-17));
        assertThat(inv[63]).isCloseTo(Math.pow(500000, -126.0 / 128) / 8, within(1e-20));
    }

    /** The tiny fixture's head_dim 16: pairs 0–3 kept, 4 interpolated, 5–7 divided by 8. */
    @Test
    void llama3ScalingAtHeadDim16ExercisesAllThreeBands() {
        double[] inv = LLAMA31.inverseFrequencies(500000, 16);
        double[] plain = RopeScaling.NONE.inverseFrequencies(500000, 16);
        for (int i = 0; i <= 3; i++) {
            assertThat(inv[i]).isEqualTo(plain[i]);
        }
        double wavelength4 = 2 * Math.PI / plain[4];   // 4442.88 tokens
        double s = (8192 / wavelength4 - 1) / 3;
        assertThat(inv[4]).isCloseTo(plain[4] * (s + (1 - s) / 8), within(1e-18));
        assertThat(inv[4]).isStrictlyBetween(plain[4] / 8, plain[4]);
        for (int i = 5; i <= 7; i++) {
            assertThat(inv[i]).isCloseTo(plain[i] / 8, within(1e-20));
        }
    }
}
