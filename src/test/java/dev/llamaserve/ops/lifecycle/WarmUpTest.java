package dev.llamaserve.ops.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.EngineStats;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.engine.core.EngineOptions;
import dev.llamaserve.engine.core.LlmEngine;
import dev.llamaserve.engine.model.ForwardBatch;
import dev.llamaserve.engine.testing.Collector;
import dev.llamaserve.engine.testing.FakeCausalLm;
import dev.llamaserve.engine.testing.FakeDetokenizer;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The warm-up ends with a step long enough to give the engine its rate per token, so that the first long prefill
 * chunk of a cold server has an expected time (the stall watch allows three times it): without it the chunk had
 * only the stall timeout, and liveness reported a healthy cold pod as stalled (a saturation review, twice of two).
 */
class WarmUpTest {

    private static final int VOCAB = 512;
    private static final int EOS = 511;

    @Test
    void theRatePromptIsOneRateStepLongAndFitsTheContext() {
        int[] warmUp = {500, 7, 8};
        int[] rate = WarmUp.ratePrompt(warmUp, 4096);
        assertThat(rate).hasSize(EngineStats.MIN_RATE_TOKENS + 3);
        assertThat(rate[0]).isEqualTo(500);
        assertThat(rate[1]).isEqualTo(7);
        assertThat(rate[2]).isEqualTo(8);
        assertThat(rate[3]).isEqualTo(7);
        assertThat(WarmUp.ratePrompt(warmUp, EngineStats.MIN_RATE_TOKENS + 4)).as("room for its completion token")
                .hasSize(EngineStats.MIN_RATE_TOKENS + 3);
        assertThat(WarmUp.ratePrompt(warmUp, EngineStats.MIN_RATE_TOKENS + 3)).isNull();
        assertThat(WarmUp.ratePrompt(new int[] {500}, 4096)).as("nothing to repeat").isNull();
    }

    /** A model whose steps of many tokens take a while, as a long prefill chunk does. */
    private static final class SlowPrefill extends FakeCausalLm {
        SlowPrefill() {
            super(VOCAB, 8192, List.of(EOS));
        }

        @Override
        public float[] forward(ForwardBatch batch, float[] reuse) {
            if (batch.numTokens() >= 200) {
                try {
                    Thread.sleep(400);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return super.forward(batch, reuse);
        }
    }

    @Test
    void afterTheWarmUpALongFirstChunkHasAnExpectedTime() throws Exception {
        try (LlmEngine engine = LlmEngine.start(new SlowPrefill(), new FakeDetokenizer(Set.of(EOS)),
                new ModelInfo(4096, VOCAB, Set.of(EOS), 1.0, 1.0, false, null), EngineOptions.defaults())) {
            WarmUp.run(engine, new int[] {1, 72});   // as ModelLifecycle runs it
            Collector c = Collector.subscribe(engine.submit(new GenerationRequest("long", new int[1000],
                    SamplingParams.greedy(1))));
            long expected = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!c.finished.isDone() && System.nanoTime() < deadline) {
                expected = Math.max(expected, engine.stats().expectedStepNanos());
                Thread.sleep(5);
            }
            c.await(Duration.ofSeconds(10));
            assertThat(expected).as("the 1,000-token step's expected time, from the warm-up's rate").isPositive();
        }
    }
}
