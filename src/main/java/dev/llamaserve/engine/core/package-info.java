/**
 * The engine thread: {@link dev.llamaserve.engine.core.LlmEngine} implements
 * {@link dev.llamaserve.engine.InferenceEngine} with one thread that owns all scheduling state. Its step reads
 * schedule → {@code runner.execute} → {@code outputs.update}: the {@code OutputProcessor} samples, detokenizes,
 * stops and finishes requests; the {@code RequestTable} holds the requests (by id, by sequence, the waiting
 * count); the {@code StatsRecorder} keeps the counters behind {@code stats()}. Per-request event buffers are
 * published as {@code Flow.Publisher}s ({@code EventStream}); the {@code llm.engine.*} settings are
 * {@link dev.llamaserve.engine.core.EngineOptions}.
 */
package dev.llamaserve.engine.core;
