/**
 * The bridge from a scheduler step to the model: builds a {@link dev.llamaserve.engine.model.ForwardBatch}
 * (token ids, positions, slot mapping and context slots from the block tables) and calls the model once.
 * The only engine package besides {@code engine.model} that touches forward-pass types.
 */
package dev.llamaserve.engine.runner;
