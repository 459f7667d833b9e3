package dev.llamaserve.config;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Turns a model that cannot load (bad checkpoint, no CUDA for {@code gpu:N}, weights or KV cache that do not
 * fit) into Spring Boot's short "APPLICATION FAILED TO START" report instead of a chain of bean errors.
 */
class ModelStartupFailureAnalyzer extends AbstractFailureAnalyzer<ModelStartupException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, ModelStartupException cause) {
        return new FailureAnalysis("The model could not be loaded: " + cause.getMessage(),
                "Fix the checkpoint or the setting named above (llm.model.*, llm.engine.*; LLM_MODEL_PATH for the"
                        + " checkpoint directory). " + UnknownPropertyFailureAnalyzer.WHERE_PROPERTIES_ARE,
                cause);
    }
}
