package dev.llamaserve.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A union whose branches match the same text: each level of {@code anyOf: [{$ref: prev}, {$ref: prev}]} doubles
 * the parses of one string. Without a bound, a 1 KB schema held the engine thread for minutes (k = 13) or for
 * ever (k = 20), delaying every other request. Bounded: the width of a state and the work of a mask are capped,
 * and the one request fails. (The timeout only turns the old, unbounded behaviour into a failure, not a hang.)
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public class AmbiguousSchemaTest {

    private final SchemaCompiler compiler = new SchemaCompiler(GrammarOptions.DEFAULT);

    /** k levels of doubling over a string: 2^k parses once the string opens. */
    public static String doubling(int k) {
        StringBuilder defs = new StringBuilder("{\"s0\":{\"type\":\"string\"}");
        for (int i = 1; i <= k; i++) {
            defs.append(",\"s").append(i).append("\":{\"anyOf\":[{\"$ref\":\"#/$defs/s").append(i - 1)
                    .append("\"},{\"$ref\":\"#/$defs/s").append(i - 1).append("\"}]}");
        }
        return "{\"$defs\":" + defs + "},\"$ref\":\"#/$defs/s" + k + "\"}";
    }

    @Test
    void aMaskOfAnExponentiallyAmbiguousSchemaFailsInsteadOfRunningForMinutes() {
        Grammar g = compiler.compile(doubling(13));
        GrammarMatcher m = GrammarFixtures.masker().matcher(g);
        // the first mask already opens the string in every branch
        assertThatThrownBy(m::allowedTokens).isInstanceOf(GrammarTooAmbiguousException.class)
                .hasMessageContaining("too ambiguous");
    }

    @Test
    void aMaskWithinTheWidthLimitStopsAtItsWorkBudget() {
        Grammar g = compiler.compile(doubling(10)); // 1,024 parses inside the string: each byte scans 500k pairs
        GrammarState inString = g.initialState().advance("\"a".getBytes(StandardCharsets.UTF_8));
        assertThat(inString.width()).isEqualTo(Configs.MAX_WIDTH);
        assertThatThrownBy(() -> GrammarFixtures.masker().compute(inString))
                .isInstanceOf(GrammarTooAmbiguousException.class)
                .hasMessageContaining("more than " + TokenMasker.MAX_MASK_WORK + " steps");
    }

    @Test
    void advancingPastTheWidthLimitFailsToo() {
        Grammar g = compiler.compile(doubling(11)); // 2,048 parses after the opening quote
        assertThatThrownBy(() -> g.initialState().advance("\"a".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(GrammarTooAmbiguousException.class)
                .hasMessageContaining("more than " + Configs.MAX_WIDTH + " parses");
    }

    @Test
    void aFewAmbiguousLevelsAreStillEnforced() {
        Grammar g = compiler.compile(doubling(5)); // 32 parses: within both bounds
        GrammarState s = g.initialState().advance("\"ab".getBytes(StandardCharsets.UTF_8));
        assertThat(s.width()).isEqualTo(32);
        assertThat(GrammarFixtures.accepts(g, "\"ab\"")).isTrue();
        assertThat(GrammarFixtures.accepts(g, "1")).isFalse();
        long[] mask = GrammarFixtures.masker().compute(s);
        int allowed = 0;
        for (long w : mask) {
            allowed += Long.bitCount(w);
        }
        assertThat(allowed).as("string continuations allowed").isGreaterThan(100);
    }
}
