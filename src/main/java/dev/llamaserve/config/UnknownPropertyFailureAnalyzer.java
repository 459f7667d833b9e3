package dev.llamaserve.config;

import java.util.stream.Collectors;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Turns unknown {@code llm.*} settings into the short "APPLICATION FAILED TO START" report. */
class UnknownPropertyFailureAnalyzer extends AbstractFailureAnalyzer<UnknownPropertyException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, UnknownPropertyException cause) {
        String list = cause.unknown().stream()
                .map(u -> "    " + u.name() + " (set in " + u.source() + "): did you mean " + u.nearest() + "?")
                .collect(Collectors.joining("\n"));
        return new FailureAnalysis("Unknown llama-serve properties; nothing reads them:\n" + list,
                "Correct or remove the properties named above. The README's Configuration section lists every"
                        + " property.", cause);
    }
}
