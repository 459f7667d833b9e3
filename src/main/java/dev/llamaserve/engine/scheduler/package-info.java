/**
 * Continuous batching (pure Java): {@link dev.llamaserve.engine.scheduler.Scheduler} decides each step
 * which sequences run and how many of their tokens, under the token budget and max-num-seqs, admitting
 * only what the KV pool can hold and preempting the youngest sequence when a decode needs a block.
 */
package dev.llamaserve.engine.scheduler;
