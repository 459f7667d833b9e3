package dev.llamaserve.engine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class EngineOptionsTest {

    @Test
    void defaultsAreTheDocumentedOnes() {
        EngineOptions o = EngineOptions.defaults();
        assertEquals(2048, o.maxNumBatchedTokens());
        assertEquals(16, o.maxNumSeqs());
        assertEquals(256, o.maxWaiting());
        assertEquals(4096, o.maxBufferedEvents());
        assertEquals(16, o.blockSize());
        assertEquals(0, o.kvTokenBudget());
    }

    @Test
    void invalidValuesNameTheSetting() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EngineOptions.defaults().withMaxWaiting(0));
        assertTrue(e.getMessage().contains("llm.engine.max-waiting"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> EngineOptions.defaults().withMaxNumBatchedTokens(8));
        assertTrue(e.getMessage().contains("llm.engine.max-num-seqs"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> EngineOptions.defaults().withKvTokenBudget(-1));
    }

    /** 8 batched tokens for 8 sequences is valid: set together, neither is checked against the other's default. */
    @Test
    void bothBatchLimitsAreCheckedTogether() {
        EngineOptions o = EngineOptions.defaults().withBatchLimits(8, 8);
        assertEquals(8, o.maxNumBatchedTokens());
        assertEquals(8, o.maxNumSeqs());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EngineOptions.defaults().withBatchLimits(8, 9));
        assertTrue(e.getMessage().contains("(8)") && e.getMessage().contains("(9)"), e.getMessage());
    }
}
