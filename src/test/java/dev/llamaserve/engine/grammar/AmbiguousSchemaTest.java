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

    /**
     * The work of one mask is bounded too: 1,024 parses inside a string cost about 4 million steps over the tiny
     * fixture's vocabulary (the 128k one: far more), 32 parses about 100,000. A masker allowed 2 million steps per
     * mask fails the first and serves the second.
     */
    @Test
    void aMaskWithinTheWidthLimitStopsAtItsWorkBudget() {
        TokenMasker masker = new TokenMasker(new TokenTrie(GrammarFixtures.vocab()), GrammarFixtures.eos(), 16,
                2_000_000);
        GrammarState wide = compiler.compile(doubling(10)).initialState()
                .advance("\"a".getBytes(StandardCharsets.UTF_8));
        assertThat(wide.width()).isEqualTo(Configs.MAX_WIDTH);
        assertThatThrownBy(() -> masker.compute(wide))
                .isInstanceOf(GrammarTooAmbiguousException.class)
                .hasMessageContaining("more than 2000000 steps");
        GrammarState narrow = compiler.compile(doubling(5)).initialState()
                .advance("\"a".getBytes(StandardCharsets.UTF_8));
        assertThat(masker.compute(narrow)).isEqualTo(GrammarFixtures.masker().compute(narrow));
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

    /**
     * A discriminated union whose tag comes after a shared string field (as pydantic writes one whose tag is not
     * the first field): one parse per variant while the shared field is read, 300 at once. Not ambiguous, and
     * enforced: its masks cost the width per byte, not its square.
     */
    @Test
    void aWideUnionOfObjectVariantsIsEnforced() {
        StringBuilder variants = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            variants.append(i == 0 ? "" : ",").append("{\"type\":\"object\",\"properties\":{\"id\":{\"type\":")
                    .append("\"string\"},\"type\":{\"const\":\"evt_").append(i).append("\"}},\"required\":[\"id\",")
                    .append("\"type\"],\"additionalProperties\":false}");
        }
        Grammar g = compiler.compile("{\"anyOf\":[" + variants + "]}");
        GrammarState inId = g.initialState().advance("{\"id\":\"a".getBytes(StandardCharsets.UTF_8));
        assertThat(inId.width()).isEqualTo(300);
        long[] mask = GrammarFixtures.masker().compute(inId);
        int allowed = 0;
        for (long w : mask) {
            allowed += Long.bitCount(w);
        }
        assertThat(allowed).as("string continuations allowed").isGreaterThan(100);
        assertThat(GrammarFixtures.accepts(g, "{\"id\":\"x\",\"type\":\"evt_299\"}")).isTrue();
        assertThat(GrammarFixtures.accepts(g, "{\"id\":\"x\",\"type\":\"evt_300\"}")).isFalse();
    }
}
