package dev.llamaserve.engine.checkpoint.archfixture;

import dev.llamaserve.engine.model.ForwardBatch;

/** Deliberately breaks the rule "the checkpoint layer does not run the forward pass"; only ArchitectureTest looks at it. */
public class CheckpointRunningTheModel {
    public ForwardBatch oneToken(int id) {
        return ForwardBatch.contiguous(new int[] {id}, 0, true);
    }
}
