/**
 * The engine thread: {@link dev.llamaserve.engine.core.LlmEngine} implements
 * {@link dev.llamaserve.engine.InferenceEngine} with one thread that owns all scheduling state
 * (schedule → execute → update), per-request event buffers published as {@code Flow.Publisher}s, and
 * the {@code llm.engine.*} settings in {@link dev.llamaserve.engine.core.EngineOptions}.
 */
package dev.llamaserve.engine.core;
