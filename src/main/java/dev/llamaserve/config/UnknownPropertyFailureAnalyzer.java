package dev.llamaserve.config;

import java.util.stream.Collectors;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Turns unknown {@code llm.*} settings into the short "APPLICATION FAILED TO START" report. */
class UnknownPropertyFailureAnalyzer extends AbstractFailureAnalyzer<UnknownPropertyException> {

    /** Where a startup failure's report sends the reader for the valid settings. */
    static final String WHERE_PROPERTIES_ARE =
            "The README's Configuration and Operations sections list every property.";

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, UnknownPropertyException cause) {
        String list = cause.unknown().stream()
                .map(u -> "    " + u.name() + " (set in " + u.source() + "): did you mean " + u.nearest() + "?")
                .collect(Collectors.joining("\n"));
        return new FailureAnalysis("Unknown llama-serve properties; nothing reads them:\n" + list,
                "Correct or remove the properties named above. " + WHERE_PROPERTIES_ARE, cause);
    }
}
