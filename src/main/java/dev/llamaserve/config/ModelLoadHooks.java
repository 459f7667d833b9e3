package dev.llamaserve.config;

import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.model.LoadListener;

/**
 * Optional seams of the background model load, for tests and embedders: declare one bean of this type to
 * observe (or slow) the weight load, or to wrap the loaded model before the engine runs it (fault
 * injection). Without such a bean the model loads and runs as is.
 */
public interface ModelLoadHooks {

    /** Called on the loading thread with the weight load's progress, besides the progress log. */
    default LoadListener loadListener() {
        return LoadListener.NONE;
    }

    /** The model the engine runs, given the loaded one. */
    default CausalLm decorate(CausalLm model) {
        return model;
    }
}
