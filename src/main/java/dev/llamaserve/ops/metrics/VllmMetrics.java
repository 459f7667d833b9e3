package dev.llamaserve.ops.metrics;

import dev.llamaserve.engine.EngineStats;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The same measurements under vLLM's metric names and labels ({@code vllm:...}, label {@code model_name}), so
 * Grafana dashboards, KEDA and HPA rules written for vLLM work unchanged. Registered directly on the Prometheus
 * client's registry (not through Micrometer, whose naming convention would rewrite {@code :} and add suffixes).
 * Counter names are given without {@code _total}; the exposition adds it. No exemplars (no tracer here).
 */
final class VllmMetrics {

    private static final String MODEL = "model_name";

    private final String modelName;
    private final Histogram timeToFirstToken;
    private final Histogram interTokenLatency;
    private final Histogram e2eRequestLatency;
    private final Counter promptTokens;
    private final Counter generationTokens;
    private final Counter requestSuccess;

    VllmMetrics(PrometheusRegistry registry, String modelName, Supplier<EngineStats> stats) {
        this.modelName = modelName;
        timeToFirstToken = histogram(registry, "vllm:time_to_first_token_seconds",
                "Histogram of time to first token in seconds.", LatencyBuckets.TIME_TO_FIRST_TOKEN);
        interTokenLatency = histogram(registry, "vllm:inter_token_latency_seconds",
                "Histogram of inter-token latency in seconds.", LatencyBuckets.INTER_TOKEN);
        e2eRequestLatency = histogram(registry, "vllm:e2e_request_latency_seconds",
                "Histogram of end to end request latency in seconds.", LatencyBuckets.E2E_REQUEST);
        promptTokens = Counter.builder().name("vllm:prompt_tokens").withoutExemplars().help("Number of prefill tokens processed.")
                .labelNames(MODEL).register(registry);
        generationTokens = Counter.builder().name("vllm:generation_tokens").withoutExemplars()
                .help("Number of generation tokens processed.").labelNames(MODEL).register(registry);
        requestSuccess = Counter.builder().name("vllm:request_success").withoutExemplars().help("Count of finished requests.")
                .labelNames("finished_reason", MODEL).register(registry);
        promptTokens.initLabelValues(modelName);
        generationTokens.initLabelValues(modelName);
        for (String reason : ServingMetrics.FINISH_REASONS) {
            requestSuccess.initLabelValues(reason, modelName);
        }
        gauge(registry, "vllm:num_requests_running", "Number of requests in model execution batches.", stats,
                EngineStats::running);
        gauge(registry, "vllm:num_requests_waiting", "Number of requests waiting to be processed.", stats,
                EngineStats::waiting);
        gauge(registry, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", stats,
                EngineStats::kvUsage);
        CounterWithCallback.builder().name("vllm:num_preemptions").help("Cumulative number of preemptions.")
                .labelNames(MODEL)
                .callback(cb -> cb.call(ServingMetrics.read(stats, EngineStats::preemptions), modelName))
                .register(registry);
        CounterWithCallback.builder().name("vllm:prefix_cache_queries").help("Prefix cache queries, in terms of number of queried tokens.")
                .labelNames(MODEL)
                .callback(cb -> cb.call(ServingMetrics.read(stats, EngineStats::prefixCacheQueryTokens), modelName))
                .register(registry);
        CounterWithCallback.builder().name("vllm:prefix_cache_hits").help("Prefix cache hits, in terms of number of cached tokens.")
                .labelNames(MODEL)
                .callback(cb -> cb.call(ServingMetrics.read(stats, EngineStats::prefixCacheHitTokens), modelName))
                .register(registry);
    }

    private Histogram histogram(PrometheusRegistry registry, String name, String help, double[] buckets) {
        Histogram h = Histogram.builder().name(name).help(help).withoutExemplars().classicOnly().classicUpperBounds(buckets)
                .labelNames(MODEL).register(registry);
        h.initLabelValues(modelName);
        return h;
    }

    private void gauge(PrometheusRegistry registry, String name, String help, Supplier<EngineStats> stats,
            ToDoubleFunction<EngineStats> value) {
        GaugeWithCallback.builder().name(name).help(help).labelNames(MODEL)
                .callback(cb -> cb.call(ServingMetrics.read(stats, value), modelName))
                .register(registry);
    }

    void firstToken(double seconds) {
        timeToFirstToken.labelValues(modelName).observe(seconds);
    }

    void interToken(double seconds) {
        interTokenLatency.labelValues(modelName).observe(seconds);
    }

    void finished(String reason, int prompt, int generated, double e2eSeconds) {
        e2eRequestLatency.labelValues(modelName).observe(e2eSeconds);
        promptTokens.labelValues(modelName).inc(prompt);
        generationTokens.labelValues(modelName).inc(generated);
        requestSuccess.labelValues(reason, modelName).inc();
    }
}
