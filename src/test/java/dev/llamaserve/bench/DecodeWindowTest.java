package dev.llamaserve.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class DecodeWindowTest {

    private static final long S = 1_000_000_000L;

    @Test
    void oneStreamIsItsTokensAfterTheFirstOverItsSpan() {
        assertThat(DecodeWindow.rate(List.of(new long[] {0, S, 2 * S, 4 * S}))).isEqualTo(0.75);
    }

    @Test
    void onlyTheWindowInWhichEveryStreamDecodesCounts() {
        // stream a starts at 0 (one token per second until 10 s); b's first token comes at 4 s (its prefill ran
        // while a decoded) and it ends at 12 s: the window is 4..10 s, where a has 6 tokens and b has 3
        long[] a = {0, S, 2 * S, 3 * S, 4 * S, 5 * S, 6 * S, 7 * S, 8 * S, 9 * S, 10 * S};
        long[] b = {4 * S, 6 * S, 8 * S, 10 * S, 12 * S};
        assertThat(DecodeWindow.rate(List.of(a, b))).isEqualTo(9 / 6.0);
    }

    @Test
    void streamsThatNeverDecodeTogetherHaveNoRate() {
        assertThatThrownBy(() -> DecodeWindow.rate(List.of(new long[] {0, S}, new long[] {2 * S, 3 * S})))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("did not overlap");
        assertThatThrownBy(() -> DecodeWindow.rate(List.of(new long[] {0})))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
