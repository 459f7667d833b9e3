package dev.llamaserve.api.openai;

import java.util.ArrayList;
import java.util.List;

/** A raw SSE reader for tests: splits a body into events, checking the framing byte for byte. */
final class Sse {

    /** The line before the data of an error event. */
    static final String ERROR_EVENT = "event: error\n";

    private Sse() {}

    /**
     * The events of {@code body} ("data: x" lines or ": comment" lines, or an error's "event: error" line and its
     * data line, given as the data line), each ended by a blank line.
     */
    static List<String> events(String body) {
        List<String> out = new ArrayList<>();
        int i = 0;
        while (i < body.length()) {
            int end = body.indexOf("\n\n", i);
            if (end < 0) {
                throw new AssertionError("unterminated SSE event at offset " + i + ": " + body.substring(i));
            }
            String event = body.substring(i, end);
            if (event.startsWith(ERROR_EVENT)) {   // an error after the stream started: its data line follows
                event = event.substring(ERROR_EVENT.length());
                if (!event.startsWith("data: {\"error\":")) {
                    throw new AssertionError("an error event without an error body: " + event);
                }
            }
            if (event.contains("\n")) {
                throw new AssertionError("multi-line SSE event: " + event);
            }
            if (!event.startsWith("data: ") && !event.startsWith(": ")) {
                throw new AssertionError("not an SSE data or comment line: " + event);
            }
            out.add(event);
            i = end + 2;
        }
        return out;
    }

    /** The data payloads, comments left out. */
    static List<String> data(String body) {
        List<String> out = new ArrayList<>();
        for (String e : events(body)) {
            if (e.startsWith("data: ")) {
                out.add(e.substring("data: ".length()));
            }
        }
        return out;
    }
}
