package dev.llamaserve.bench;

import java.util.List;

/**
 * Aggregate decode rate over the window in which every stream was decoding: from the moment the last stream got
 * its first token to the moment the first stream got its last one, counting the tokens of all streams that
 * arrived inside it. The engine-only and the HTTP/SSE figures use this same window, so their ratio compares the
 * serving path and not how far apart the streams were started (16 requests over 16 new connections arrive over
 * several engine steps, whose prefills would otherwise count as decode time of the streams already started).
 * With one stream the window is its first to its last token.
 */
final class DecodeWindow {

    private DecodeWindow() {}

    /** Tokens per second; {@code arrivals} holds each stream's token arrival times ({@link System#nanoTime()}). */
    static double rate(List<long[]> arrivals) {
        long[] w = bounds(arrivals);
        long start = w[0];
        long end = w[1];
        long tokens = 0;
        for (long[] a : arrivals) {
            for (long t : a) {
                if (t > start && t <= end) {
                    tokens++;
                }
            }
        }
        return tokens / ((end - start) / 1e9);
    }

    /** The window: {@code {start, end}}, the last stream's first token and the first stream's last token. */
    static long[] bounds(List<long[]> arrivals) {
        long start = Long.MIN_VALUE;
        long end = Long.MAX_VALUE;
        for (long[] a : arrivals) {
            if (a.length < 2) {
                throw new IllegalArgumentException("a stream with fewer than two tokens has no decode time");
            }
            start = Math.max(start, a[0]);
            end = Math.min(end, a[a.length - 1]);
        }
        if (end <= start) {
            throw new IllegalStateException("no moment when every stream was decoding: the streams did not overlap"
                    + " (use more --decode-tokens)");
        }
        return new long[] {start, end};
    }
}
