package dev.llamaserve.engine.sampling;

import java.util.List;

/**
 * Matches stop strings on a request's decoded text across token boundaries. Text that could be the
 * beginning of a stop string is held back until it either completes one (then it is dropped with
 * everything after it, never emitted) or can no longer (then it is released). Since emitted text never
 * ends with such a prefix, a match always starts inside the held-back text.
 */
public final class StopStrings {

    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();

    public StopStrings(List<String> stops) {
        this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
    }

    /**
     * @param emit text safe to emit now
     * @param stop the stop string matched, or null
     */
    public record Result(String emit, String stop) {}

    public boolean isEmpty() {
        return stops.isEmpty();
    }

    /**
     * Feeds a text delta.
     *
     * @param match false while {@code min_tokens} is not reached: stop strings are then not matched,
     *     though possible prefixes are still held back
     */
    public Result feed(String delta, boolean match) {
        if (stops.isEmpty()) {
            return new Result(delta, null);
        }
        pending.append(delta);
        if (match) {
            int best = -1;
            String which = null;
            for (String s : stops) {
                int at = pending.indexOf(s);
                if (at >= 0 && (best < 0 || at < best)) {
                    best = at;
                    which = s;
                }
            }
            if (which != null) {
                String emit = pending.substring(0, best);
                pending.setLength(0);
                return new Result(emit, which);
            }
        }
        int hold = heldSuffix();
        String emit = pending.substring(0, pending.length() - hold);
        pending.delete(0, pending.length() - hold);
        return new Result(emit, null);
    }

    /** Releases what is held back (at the end of generation). */
    public String flush() {
        String s = pending.toString();
        pending.setLength(0);
        return s;
    }

    /** Length of the longest suffix of the pending text that is a proper prefix of a stop string. */
    private int heldSuffix() {
        int best = 0;
        String text = pending.toString();
        int len = text.length();
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, len); k > best; k--) {
                if (text.regionMatches(len - k, s, 0, k)) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }
}
