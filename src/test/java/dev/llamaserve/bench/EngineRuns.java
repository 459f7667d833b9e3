package dev.llamaserve.bench;

import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.engine.OutputConstraint;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.engine.core.LlmEngine;
import dev.llamaserve.engine.model.ProcessMemory;
import dev.llamaserve.engine.testing.Collector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/**
 * The engine-only measurements: requests go straight into {@link InferenceEngine#submit} (no HTTP: the bench's own
 * engine, or the HTTP service's, {@link HttpRuns#engineSide}), greedy, with {@code ignore_eos} so that every stream
 * decodes exactly its {@code max_tokens}.
 */
final class EngineRuns {

    static final Duration WAIT = Duration.ofMinutes(60);
    static final int SHORT_PROMPT = 16;

    private final InferenceEngine engine;
    private final TimedLm timed;
    private final int decodeTokens;
    private int ids;
    private int rateSeed = 20_000;

    EngineRuns(InferenceEngine engine, TimedLm timed, int decodeTokens) {
        this.engine = engine;
        this.timed = timed;
        this.decodeTokens = decodeTokens;
    }

    void warmUp() {
        run(1, SHORT_PROMPT, 4, 1);
        run(2, SHORT_PROMPT, 4, 2);
    }

    /** {@link JavaCpu} over the whole {@code overheadAt}-stream run of the last {@link #aggregate}. */
    private double otherJavaCpuPct;

    double otherJavaCpuPct() {
        return otherJavaCpuPct;
    }

    /** Minor page faults per forward pass over the whole {@code overheadAt}-stream run of the last {@link #aggregate}. */
    private double faultsPerStep;

    double faultsPerStep() {
        return faultsPerStep;
    }

    /** Decode tok/s of one stream; {@code steps[0]}: its forward passes from its first token to its last. */
    double singleStream(TimedLm.Span[] steps) {
        List<Collector> cs = run(1, SHORT_PROMPT, decodeTokens, 3);
        steps[0] = timed.span(cs.get(0).firstTokenNanos, cs.get(0).lastTokenNanos);
        return Collector.decodeRate(cs);
    }

    /**
     * Aggregate decode tok/s keyed by stream count, over the window in which all streams decode
     * ({@link DecodeWindow}); {@code overheadAt} streams also fill {@code overhead}.
     */
    Map<String, Double> aggregate(int[] streams, int overheadAt, TimedLm.Span[] overhead) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (int s : streams) {
            JavaCpu cpu = JavaCpu.start();
            long faults = ProcessMemory.minorFaults();
            long t0 = System.nanoTime();
            List<Collector> cs = run(s, SHORT_PROMPT, decodeTokens, 100 + s);
            faults = ProcessMemory.minorFaults() - faults;
            int steps = timed.span(t0, System.nanoTime()).steps();
            List<long[]> arrivals = arrivals(cs);
            out.put(Integer.toString(s), DecodeWindow.rate(arrivals));
            if (s == overheadAt) {
                otherJavaCpuPct = cpu.pctOfMachine();
                faultsPerStep = steps == 0 ? 0 : (double) faults / steps;
                long[] w = DecodeWindow.bounds(arrivals);
                overhead[0] = timed.span(w[0], w[1]);
            }
        }
        return out;
    }

    /** Aggregate decode tok/s of {@code streams} streams started together, as {@link #aggregate} measures it. */
    double rate(int streams) {
        // new prompts every call, so that the prefix cache favours no run
        return DecodeWindow.rate(arrivals(run(streams, SHORT_PROMPT, decodeTokens, rateSeed++)));
    }

    /** Each stream's token arrival times, as {@link DecodeWindow} takes them. */
    private static List<long[]> arrivals(List<Collector> cs) {
        return cs.stream().map(c -> c.tokenNanos.stream().mapToLong(Long::longValue).toArray()).toList();
    }

    /** Time to first token (ms) of one prompt of each length, alone in the engine. */
    Map<String, Double> ttft(int[] lengths) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (int len : lengths) {
            out.put(Integer.toString(len), firstTokenMs(prompt(len, 1000 + len)));
        }
        return out;
    }

    /**
     * TTFT of a 2,048-token shared prefix plus 16 own tokens: cold (the prefix never seen), then warm (a second
     * prompt with the same prefix and other last tokens). Without prefix caching both are a full prefill.
     */
    Map<String, Double> prefixCache(int prefix) {
        int[] cold = prompt(prefix + SHORT_PROMPT, 7_000);
        int[] warm = cold.clone();
        int[] other = prompt(SHORT_PROMPT + 1, 7_001);
        System.arraycopy(other, 1, warm, prefix, SHORT_PROMPT);
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("cold", firstTokenMs(cold));
        out.put("warm", firstTokenMs(warm));
        return out;
    }

    /**
     * {@code streams} streams decoding at temperature 1 under a JSON schema (an object of ten properties: strings
     * with lengths and formats, numbers, an enum, an array of objects), started together: tok/s, the grammar's time
     * per token per sequence (the mask before each draw and the accept after it) and its share of the engine step
     * over this run (issue 13's target: at most 10 % at 16 streams).
     */
    Map<String, Double> grammar(int streams, LlmEngine e) {
        OutputConstraint schema = new OutputConstraint.JsonSchema("bench", JsonMapper.builder().build().readTree("""
                {"type": "object", "additionalProperties": false,
                 "required": ["id", "name", "email", "age", "score", "tier", "active", "tags", "address", "orders"],
                 "properties": {
                   "id": {"type": "string", "format": "uuid"},
                   "name": {"type": "string", "minLength": 1, "maxLength": 40},
                   "email": {"type": "string", "format": "email"},
                   "age": {"type": "integer", "minimum": 0, "maximum": 150},
                   "score": {"type": "number"},
                   "tier": {"enum": ["free", "pro", "enterprise"]},
                   "active": {"type": "boolean"},
                   "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 4},
                   "address": {"type": "object", "required": ["city", "zip"], "additionalProperties": false,
                               "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}}},
                   "orders": {"type": "array", "maxItems": 3, "items": {"type": "object", "required": ["sku", "qty"],
                              "additionalProperties": false,
                              "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}}}}
                """));
        LlmEngine.MaskCost before = e.maskCost();
        long t0 = System.nanoTime();
        List<Collector> cs = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            SamplingParams p = SamplingParams.builder().temperature(1.0).seed((long) i).maxTokens(decodeTokens)
                    .constraint(schema).build();
            cs.add(Collector.subscribe(engine.submit(new GenerationRequest("bench-" + ids++,
                    prompt(SHORT_PROMPT, 9_000 + i), p))));
        }
        cs.forEach(c -> c.await(WAIT));
        double seconds = (System.nanoTime() - t0) / 1e9;
        LlmEngine.MaskCost after = e.maskCost();
        LlmEngine.MaskCost run = new LlmEngine.MaskCost(after.masks() - before.masks(),
                after.maskNanos() - before.maskNanos(), after.steps() - before.steps(),
                after.stepNanos() - before.stepNanos());
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("tokens", (double) run.masks());
        out.put("tok_s", run.masks() / seconds);
        out.put("mask_us_per_token_per_seq", run.microsPerToken());
        out.put("mask_fraction_of_step", run.fractionOfStep());
        return out;
    }

    /** Submits {@code n} requests of {@code promptLen} tokens with at most {@code concurrency} in flight. */
    void soak(int n, int concurrency, int promptLen, int maxTokens, Runnable everyThousand) {
        List<Collector> inFlight = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (inFlight.size() == concurrency) {
                inFlight.remove(0).await(WAIT);
            }
            inFlight.add(submit(prompt(promptLen, i), maxTokens));
            if ((i + 1) % 1000 == 0) {
                everyThousand.run();
            }
        }
        inFlight.forEach(c -> c.await(WAIT));
    }

    private double firstTokenMs(int[] prompt) {
        long t0 = System.nanoTime();
        Collector c = submit(prompt, 1);
        c.await(WAIT);
        return (c.firstTokenNanos - t0) / 1e6;
    }

    /** {@code n} short requests with {@code concurrency} in flight; {@code every} gets the count after each 1,000. */
    void soak(int n, int concurrency, int maxTokens, java.util.function.IntConsumer every) {
        java.util.ArrayDeque<Collector> inFlight = new java.util.ArrayDeque<>();
        for (int i = 0; i < n; i++) {
            if (inFlight.size() == concurrency) {
                inFlight.poll().await(WAIT);
            }
            inFlight.add(submit(prompt(SHORT_PROMPT, 60_000 + i), maxTokens));
            if ((i + 1) % 1000 == 0) {
                every.accept(i + 1);
            }
        }
        inFlight.forEach(c -> c.await(WAIT));
    }

    private List<Collector> run(int streams, int promptLen, int maxTokens, int salt) {
        List<Collector> cs = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            cs.add(submit(prompt(promptLen, salt * 64 + i), maxTokens));
        }
        cs.forEach(c -> c.await(WAIT));
        return cs;
    }

    private Collector submit(int[] prompt, int maxTokens) {
        SamplingParams p = SamplingParams.builder().temperature(0.0).maxTokens(maxTokens).ignoreEos(true).build();
        return Collector.subscribe(engine.submit(new GenerationRequest("bench-" + ids++, prompt, p)));
    }

    /**
     * {@code <|begin_of_text|>} and {@code length - 1} ids from the filler range (1,024..127,999): all decode to
     * text, and different salts give different prompts.
     */
    static int[] prompt(int length, int salt) {
        int[] p = new int[length];
        p[0] = 128_000;
        for (int i = 1; i < length; i++) {
            p[i] = 1024 + (int) Math.floorMod(salt * 7919L + i * 104_729L, 126_976L);
        }
        return p;
    }

}
