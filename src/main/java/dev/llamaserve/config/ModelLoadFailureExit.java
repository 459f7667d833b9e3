package dev.llamaserve.config;

import java.util.function.Consumer;
import java.util.function.IntConsumer;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.diagnostics.LoggingFailureAnalysisReporter;
import org.springframework.context.ApplicationListener;

/**
 * A model that fails to load in the background (after the web server started) ends the process as a
 * failed startup did: the one-screen report of {@link ModelStartupFailureAnalyzer}, then the process exits
 * with status 1 (its shutdown hook closes the context). A failure before the application is ready is reported once
 * it is (a bean that waited for the model during startup fails the startup itself, and Spring Boot reports
 * that).
 */
final class ModelLoadFailureExit implements Consumer<Throwable>, ApplicationListener<ApplicationReadyEvent> {

    private final IntConsumer exit;
    private boolean ready;
    private Throwable failure;

    ModelLoadFailureExit(IntConsumer exit) {
        this.exit = exit;
    }

    @Override
    public void accept(Throwable t) {
        synchronized (this) {
            failure = t;
            if (!ready) {
                return;
            }
        }
        reportAndExit(t);
    }

    @Override
    public void onApplicationEvent(ApplicationReadyEvent event) {
        Throwable t;
        synchronized (this) {
            ready = true;
            t = failure;
        }
        if (t != null) {
            reportAndExit(t);
        }
    }

    private void reportAndExit(Throwable t) {
        ModelStartupException e = t instanceof ModelStartupException m ? m
                : new ModelStartupException(t.getMessage() == null ? t.toString() : t.getMessage(), t);
        new LoggingFailureAnalysisReporter().report(new ModelStartupFailureAnalyzer().analyze(e));
        // Exit first and let Spring Boot's shutdown hook close the context: closing it here would stop the web
        // server's (non-daemon) threads, and the JVM could end with status 0 before this thread's exit call.
        exit.accept(1);
    }
}
