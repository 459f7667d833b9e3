package dev.llamaserve.bench;

import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.core.EngineOptions;
import dev.llamaserve.engine.core.LlmEngine;
import dev.llamaserve.engine.model.LlamaModel;
import dev.llamaserve.engine.model.ModelOptions;
import dev.llamaserve.engine.model.ProcessMemory;
import dev.llamaserve.engine.testing.Collector;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Long context on the CPU: one prompt of {@code tokens} tokens through the engine (chunked prefill at the
 * service's default 2,048 tokens a step) on the tiny shape (or the 1B's), reporting the prefill time and the process's
 * peak RSS during it, beside the RSS before it and the KV cache's size, so that a score matrix quadratic in
 * the context shows as a peak far above the plan.
 */
final class LongContext {

    private LongContext() {
    }

    static Map<String, Object> run(Path dir, String shape, String dtype, int tokens) {
        Map<String, Object> r = new LinkedHashMap<>();
        long[] weightBytes = new long[1];
        int kvTokens = tokens + 64;
        LlamaModel model = LlamaModel.load(Checkpoint.open(dir), new ModelOptions("cpu", dtype, kvTokens, 2048),
                Bench.summary(weightBytes));
        var c = model.config();
        long kvBytes = 2L * c.numHiddenLayers() * kvTokens * c.numKeyValueHeads() * c.headDim()
                * model.dtype().bytes();
        ModelInfo info = new ModelInfo(kvTokens, c.vocabSize(), Set.of(128_001, 128_008, 128_009), 0.6, 0.9, false, null);
        EngineOptions options = EngineOptions.defaults().withKvTokenBudget(kvTokens);
        try (LlmEngine e = LlmEngine.start(model, LlamaTokenizer.load(dir), info, options)) {
            SamplingParams p = SamplingParams.builder().temperature(0.0).maxTokens(1).ignoreEos(true).build();
            Collector warm = Collector.subscribe(e.submit(new GenerationRequest("long-warm", EngineRuns.prompt(64, 1), p)));
            warm.await(EngineRuns.WAIT);
            System.gc();
            long rssBefore = ProcessMemory.rssBytes();
            boolean reset = ProcessMemory.resetPeak();
            long faults = ProcessMemory.minorFaults();
            long t0 = System.nanoTime();
            Collector c1 = Collector.subscribe(e.submit(new GenerationRequest("long", EngineRuns.prompt(tokens, 9), p)));
            c1.await(EngineRuns.WAIT);
            faults = ProcessMemory.minorFaults() - faults;
            double s = (c1.firstTokenNanos - t0) / 1e9;
            r.put("shape", shape);
            r.put("prompt_tokens", tokens);
            r.put("prefill_s", s);
            r.put("prefill_tok_s", tokens / s);
            r.put("rss_before_bytes", rssBefore);
            r.put("peak_rss_bytes", ProcessMemory.peakRssBytes());
            r.put("peak_is_this_run_only", reset);
            r.put("peak_over_before_bytes", ProcessMemory.peakRssBytes() - rssBefore);
            r.put("kv_cache_bytes", kvBytes);
            r.put("minor_faults", faults);
            r.put("weight_bytes", weightBytes[0]);
        }
        return r;
    }
}
