package dev.llamaserve.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopStringsTest {

    @Test
    void matchAcrossDeltasIsCutAndNeverEmitted() {
        StopStrings s = new StopStrings(List.of("END"));
        assertEquals(new StopStrings.Result("hello ", null), s.feed("hello E", true));
        assertEquals(new StopStrings.Result("", null), s.feed("N", true));
        StopStrings.Result r = s.feed("D and more", true);
        assertEquals("", r.emit());
        assertEquals("END", r.stop());
    }

    @Test
    void heldPrefixIsReleasedWhenItCannotMatch() {
        StopStrings s = new StopStrings(List.of("END"));
        assertEquals("a", s.feed("aEN", true).emit());
        StopStrings.Result r = s.feed("X", true);
        assertEquals("ENX", r.emit());
        assertNull(r.stop());
    }

    @Test
    void earliestOfSeveralStopsWins() {
        StopStrings s = new StopStrings(List.of("xyz", "b"));
        StopStrings.Result r = s.feed("aaxybxyz", true);
        assertEquals("aaxy", r.emit());
        assertEquals("b", r.stop());
    }

    @Test
    void matchingCanBeDeferredButPrefixesStayHeld() {
        StopStrings s = new StopStrings(List.of("ab"));
        assertEquals("xab", s.feed("xab", false).emit());
        assertEquals("y", s.feed("ya", false).emit());
        StopStrings.Result r = s.feed("b", true);
        assertEquals("", r.emit());
        assertEquals("ab", r.stop());
    }

    @Test
    void flushReleasesTheTail() {
        StopStrings s = new StopStrings(List.of("</s>"));
        assertEquals("text", s.feed("text</", true).emit());
        assertEquals("</", s.flush());
    }

    @Test
    void unicodeStopStrings() {
        StopStrings s = new StopStrings(List.of("世界"));
        assertEquals("你好", s.feed("你好世", true).emit());
        StopStrings.Result r = s.feed("界!", true);
        assertEquals("", r.emit());
        assertEquals("世界", r.stop());
        StopStrings e = new StopStrings(List.of("🙂🙂"));
        assertEquals("a", e.feed("a🙂", true).emit());
        assertEquals("🙂b", e.feed("b", true).emit());
    }

    @Test
    void noStopsPassesThrough() {
        StopStrings s = new StopStrings(List.of());
        assertEquals("abc", s.feed("abc", true).emit());
    }
}
