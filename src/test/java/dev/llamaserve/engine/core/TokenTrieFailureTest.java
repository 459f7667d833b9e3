package dev.llamaserve.engine.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineState;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.OutputConstraint;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.engine.testing.Collector;
import dev.llamaserve.engine.testing.FakeCausalLm;
import dev.llamaserve.engine.testing.FakeDetokenizer;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A token trie that cannot be built fails each constrained request, not the engine: it took the engine thread
 * down at the first constrained request (FAILED, every request refused).
 */
class TokenTrieFailureTest {

    private static final int VOCAB = 512;
    private static final int EOS = 511;

    /** Decodes as the fake does (FakeDetokenizer is final), but the trie's reading of every token's bytes fails. */
    private static final class NoTrieDetokenizer implements dev.llamaserve.engine.Detokenizer {
        private final FakeDetokenizer fake = new FakeDetokenizer(Set.of(EOS));

        @Override
        public IncrementalDecoder newDecoder() {
            return fake.newDecoder();
        }

        @Override
        public String decode(int[] ids, boolean skipSpecialTokens) {
            return fake.decode(ids, skipSpecialTokens);
        }

        @Override
        public byte[] tokenBytes(int id) {
            throw new IllegalStateException("no bytes for token " + id);
        }

        @Override
        public boolean isSpecial(int id) {
            return fake.isSpecial(id);
        }
    }

    private static Collector submit(LlmEngine engine, String id, OutputConstraint constraint) {
        SamplingParams p = SamplingParams.builder().temperature(0.0).maxTokens(4).ignoreEos(true).n(2)
                .constraint(constraint).build();
        return Collector.subscribe(engine.submit(new GenerationRequest(id, new int[] {1, 2, 3}, p)));
    }

    @Test
    void aConstrainedRequestFailsAloneAndFreeTextIsServed() {
        try (LlmEngine engine = LlmEngine.start(new FakeCausalLm(VOCAB, 4096, List.of(EOS)), new NoTrieDetokenizer(),
                new ModelInfo(1024, VOCAB, Set.of(EOS), 1.0, 1.0, false, null), EngineOptions.defaults())) {
            EngineEvent.Finished constrained = submit(engine, "json", new OutputConstraint.JsonObject())
                    .await(Duration.ofSeconds(30));
            assertThat(constrained.reason()).isEqualTo(EngineEvent.FinishReason.ERROR);
            assertThat(constrained.errorMessage()).contains("constrained decoding is unavailable")
                    .contains("no bytes for token");

            Collector free = submit(engine, "text", null);
            EngineEvent.Finished f = free.await(Duration.ofSeconds(30));
            assertThat(f.reason()).isEqualTo(EngineEvent.FinishReason.LENGTH);
            assertThat(free.finishedEvents()).as("both choices").hasSize(2);
            assertThat(engine.stats().state()).isEqualTo(EngineState.READY);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();   // stats are published per step
            while (engine.stats().running() + engine.stats().waiting() > 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertThat(engine.stats().running() + engine.stats().waiting()).as("nothing left behind").isZero();
        }
    }
}
