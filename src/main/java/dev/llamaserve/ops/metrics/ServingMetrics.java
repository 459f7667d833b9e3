package dev.llamaserve.ops.metrics;

import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The serving metrics, recorded by {@link MeteredInferenceEngine}: llama-serve's own names through Micrometer
 * ({@code llm_...} in Prometheus), and, when the Prometheus registry is there, the same under vLLM's names
 * ({@link VllmMetrics}). Engine gauges read {@code InferenceEngine.stats()} when scraped.
 */
public final class ServingMetrics {

    static final List<String> FINISH_REASONS = Arrays.stream(EngineEvent.FinishReason.values())
            .map(EngineEvent.FinishReason::wireName).toList();

    private final MeterRegistry registry;
    private final String modelName;
    private final PrometheusRegistry prometheus;
    private final Timer timeToFirstToken;
    private final Timer interTokenLatency;
    private final Timer e2eRequestLatency;
    private final Counter promptTokens;
    private final Counter generationTokens;
    private final Counter disconnects;
    private final Map<String, Counter> finished = new HashMap<>();
    private volatile VllmMetrics vllm;

    /**
     * @param registry Micrometer's registry
     * @param prometheus the Prometheus client's registry behind Micrometer's, or null (no vLLM names then)
     * @param modelName the served model name (vLLM's {@code model_name} label)
     */
    public ServingMetrics(MeterRegistry registry, PrometheusRegistry prometheus, String modelName) {
        this.registry = registry;
        this.prometheus = prometheus;
        this.modelName = modelName;
        timeToFirstToken = timer("llm.time.to.first.token", "Time from submit to the first generated token",
                LatencyBuckets.TIME_TO_FIRST_TOKEN);
        interTokenLatency = timer("llm.inter.token.latency", "Time between consecutive token deliveries of a request",
                LatencyBuckets.INTER_TOKEN);
        e2eRequestLatency = timer("llm.e2e.request.latency", "Time from submit to the end of a request",
                LatencyBuckets.E2E_REQUEST);
        promptTokens = Counter.builder("llm.prompt.tokens").description("Prompt tokens of finished requests")
                .register(registry);
        generationTokens = Counter.builder("llm.generation.tokens").description("Tokens generated")
                .register(registry);
        disconnects = Counter.builder("llm.client.disconnects")
                .description("Requests whose caller went away (cancelled or aborted) before they finished")
                .register(registry);
        for (String reason : FINISH_REASONS) {
            finished.put(reason, Counter.builder("llm.requests.finished")
                    .description("Finished requests by finish reason").tag("finish_reason", reason).register(registry));
        }
    }

    private Timer timer(String name, String description, double[] buckets) {
        return Timer.builder(name).description(description)
                .serviceLevelObjectives(LatencyBuckets.durations(buckets)).register(registry);
    }

    /** Registers the gauges that read the engine's state when scraped: queue, running, KV usage, preemptions. */
    void bindEngine(Supplier<EngineStats> stats) {
        Gauge.builder("llm.requests.waiting", () -> read(stats, EngineStats::waiting))
                .description("Requests queued, not yet admitted").strongReference(true).register(registry);
        Gauge.builder("llm.requests.running", () -> read(stats, EngineStats::running))
                .description("Sequences admitted (prefilling or decoding)").strongReference(true).register(registry);
        Gauge.builder("llm.kv.cache.usage.ratio", () -> read(stats, EngineStats::kvUsage))
                .description("KV-cache blocks in use / blocks in the pool (0..1)").strongReference(true)
                .register(registry);
        FunctionCounter.builder("llm.preemptions", stats, s -> read(s, EngineStats::preemptions))
                .description("Sequences preempted (KV cache full) and recomputed later").register(registry);
        FunctionCounter.builder("llm.prefix.cache.queries", stats, s -> read(s, EngineStats::prefixCacheQueryTokens))
                .description("Prompt tokens looked up in the prefix cache").register(registry);
        FunctionCounter.builder("llm.prefix.cache.hits", stats, s -> read(s, EngineStats::prefixCacheHitTokens))
                .description("Prompt tokens served from the prefix cache (prefill skipped)").register(registry);
        if (prometheus != null) {
            vllm = new VllmMetrics(prometheus, modelName, stats);
        }
    }

    /** A gauge's value; NaN while the engine cannot say (e.g. not loaded). */
    static double read(Supplier<EngineStats> stats, ToDoubleFunction<EngineStats> value) {
        try {
            EngineStats s = stats.get();
            return s == null ? Double.NaN : value.applyAsDouble(s);
        } catch (RuntimeException e) {
            return Double.NaN;
        }
    }

    void firstToken(long nanos) {
        timeToFirstToken.record(nanos, TimeUnit.NANOSECONDS);
        VllmMetrics v = vllm;
        if (v != null) {
            v.firstToken(nanos / 1e9);
        }
    }

    void interToken(long nanos) {
        interTokenLatency.record(nanos, TimeUnit.NANOSECONDS);
        VllmMetrics v = vllm;
        if (v != null) {
            v.interToken(nanos / 1e9);
        }
    }

    void finished(RequestTrace.Summary s, long e2eNanos) {
        e2eRequestLatency.record(e2eNanos, TimeUnit.NANOSECONDS);
        promptTokens.increment(s.promptTokens());
        generationTokens.increment(s.completionTokens());
        finished.get(s.finishReason()).increment();
        VllmMetrics v = vllm;
        if (v != null) {
            v.finished(s.finishReason(), s.promptTokens(), s.completionTokens(), e2eNanos / 1e9);
        }
    }

    void disconnected() {
        disconnects.increment();
    }
}
