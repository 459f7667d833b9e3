package dev.llamaserve.api.openai.archfixture;

import dev.llamaserve.engine.model.ModelConfig;

/** Deliberately breaks the rule "api sees only the engine's root package"; only ArchitectureTest looks at it. */
public class ApiReachingIntoEngineCore {
    public int layers(ModelConfig config) {
        return config.numHiddenLayers();
    }
}
