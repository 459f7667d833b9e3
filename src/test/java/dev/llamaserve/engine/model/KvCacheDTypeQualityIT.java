package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.testing.TestDevice;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;

/**
 * Quality of the float8 e4m3 KV cache on the tiny fixture against its float64 reference: over every reference
 * position of {@code prefill_24} and {@code long_9000} (chunked prefill of 512, the last 8 tokens as decode
 * steps), max and mean |Δlogprob| (log-softmax of the logits, all 768 tokens), argmax agreement where the
 * reference's top-2 margin is ≥ 0.1, and teacher-forced greedy agreement. Targets for float8: max |Δlogprob| ≤
 * 0.15 and the argmax equal wherever the margin is ≥ 0.1. bfloat16 compute with its own cache is measured
 * alongside for comparison (float32 with its own is {@link LlamaModelParityIT}); the table is printed for the
 * README.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KvCacheDTypeQualityIT {

    private static final int VOCAB = 768;
    private static final int KV_SLOTS = 9216;
    private final LlamaModelParityIT cases = new LlamaModelParityIT();
    private JsonNode reference;
    private final List<String> table = new ArrayList<>();

    @BeforeAll
    void loadReference() throws IOException {
        cases.loadReference();
        reference = TinyFixture.reference();
    }

    @AfterAll
    void printTable() {
        System.out.println("| compute dtype | KV cache | max |Δlogprob| | mean |Δlogprob| | argmax equal (margin ≥ 0.1) | greedy teacher-forced (margin ≥ 0.1) |");
        System.out.println("| --- | --- | --- | --- | --- | --- |");
        table.forEach(System.out::println);
    }

    @ParameterizedTest
    @CsvSource({"float32,float8_e4m3", "bfloat16,float8_e4m3", "bfloat16,auto"})
    void againstTheFloat64Reference(String compute, String kv) {
        KvCacheDType kvDtype = KvCacheDType.parse(kv);
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                new ModelOptions(TestDevice.option(), compute, KV_SLOTS, 512).withKvCacheDtype(kvDtype), LoadListener.NONE)) {
            assertThat(m.kvCacheDtype()).isEqualTo(kvDtype.resolve(ComputeDType.parse(compute)));
            double max = 0;
            double sum = 0;
            int n = 0;
            int clear = 0;
            int agree = 0;
            for (String name : new String[] {"prefill_24", "long_9000"}) {
                JsonNode c = cases.testCase(name);
                int[] ids = TinyFixture.ints(c.get("ids"));
                int[] wanted = TinyFixture.ints(c.get("positions"));
                float[] logits = LlamaModelParityIT.run(m, ids, name.equals("long_9000") ? ids.length - 8 : ids.length,
                        wanted);
                for (int r = 0; r < wanted.length; r++) {
                    double[] ref = TinyFixture.doubles(c.get("logits").get(r));
                    double[] refLp = LogitRows.logSoftmax(ref);
                    double[] gotLp = LogitRows.logSoftmax(logits, r * VOCAB, VOCAB);
                    for (int v = 0; v < VOCAB; v++) {
                        double d = Math.abs(gotLp[v] - refLp[v]);
                        max = Math.max(max, d);
                        sum += d;
                        n++;
                    }
                    if (LogitRows.margin(ref) >= 0.1) {
                        clear++;
                        agree += LlamaModelParityIT.argmax(logits, r * VOCAB) == LogitRows.argmax(ref) ? 1 : 0;
                    }
                }
            }
            int[] greedy = greedy(m);
            table.add(String.format("| %s | %s | %.3g | %.3g | %d/%d | %d/%d |", compute, m.kvCacheDtype().optionName(),
                    max, sum / n, agree, clear, greedy[0], greedy[1]));
            if (kvDtype.fp8()) {
                assertThat(max).as("max |Δlogprob| %s + float8 KV", compute).isLessThanOrEqualTo(0.15);
                assertThat(agree).as("argmax where the margin is ≥ 0.1, %s + float8 KV", compute).isEqualTo(clear);
                assertThat(greedy[0]).as("greedy steps with margin ≥ 0.1, %s + float8 KV", compute).isEqualTo(greedy[1]);
            }
        }
    }

    /** Teacher-forced greedy: {agreeing steps, steps with a reference margin ≥ 0.1}. */
    private int[] greedy(LlamaModel m) {
        JsonNode g = reference.get("greedy");
        int[] prompt = TinyFixture.ints(g.get("prompt_ids"));
        int[] generated = TinyFixture.ints(g.get("generated_ids"));
        double[] margins = TinyFixture.doubles(g.get("top1_minus_top2"));
        float[] logits = m.forward(ForwardBatch.contiguous(prompt, 0, false));   // [V]
        int agree = 0;
        int clear = 0;
        for (int step = 0; step < generated.length; step++) {
            if (margins[step] >= 0.1) {
                clear++;
                agree += LlamaModelParityIT.argmax(logits, 0) == generated[step] ? 1 : 0;
            }
            logits = m.forward(ForwardBatch.contiguous(new int[] {generated[step]}, prompt.length + step, false));
        }
        return new int[] {agree, clear};
    }
}
