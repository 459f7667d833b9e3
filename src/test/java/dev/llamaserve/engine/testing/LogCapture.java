package dev.llamaserve.engine.testing;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/** The log events of one class's logger while open (tests that check what is, and is not, logged). */
public final class LogCapture implements AutoCloseable {

    private final Logger logger;
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    private LogCapture(Class<?> of) {
        this.logger = (Logger) LoggerFactory.getLogger(of);
        appender.start();
        logger.addAppender(appender);
    }

    public static LogCapture of(Class<?> loggerClass) {
        return new LogCapture(loggerClass);
    }

    public List<ILoggingEvent> events() {
        return appender.list;
    }

    /** Every event's formatted message, joined. */
    public String text() {
        return appender.list.stream().map(ILoggingEvent::getFormattedMessage).reduce("", String::concat);
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
    }
}
