package dev.llamaserve.ops.access;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

/** Collects the access log's events (a Logback ListAppender on its logger) for the length of a test. */
final class AccessLogCapture implements AutoCloseable {

    private final Logger logger = (Logger) LoggerFactory.getLogger(AccessLogFilter.LOGGER);
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    AccessLogCapture() {
        appender.start();
        logger.addAppender(appender);
    }

    /** An event's key-values. */
    static Map<String, Object> fields(ILoggingEvent e) {
        Map<String, Object> f = new LinkedHashMap<>();
        if (e.getKeyValuePairs() != null) {
            for (KeyValuePair kv : e.getKeyValuePairs()) {
                f.put(kv.key, kv.value);
            }
        }
        return f;
    }

    /** Waits for the line of {@code requestId} (it is written when the exchange ends, after the client got it). */
    ILoggingEvent await(String requestId, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Optional<ILoggingEvent> e = find(requestId);
        while (e.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
            e = find(requestId);
        }
        return e.orElseThrow(() -> new AssertionError("no access-log line for " + requestId + " in "
                + appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList()));
    }

    /** Every line so far. */
    java.util.List<ILoggingEvent> events() {
        synchronized (appender.list) {
            return java.util.List.copyOf(appender.list);
        }
    }

    private Optional<ILoggingEvent> find(String requestId) {
        return events().stream().filter(e -> requestId.equals(fields(e).get("request_id"))).findFirst();
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
        appender.stop();
    }
}
