package dev.llamaserve.engine.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.EngineEvent;
import dev.llamaserve.engine.EngineEvent.FinishReason;
import dev.llamaserve.engine.EngineState;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.engine.testing.Collector;
import dev.llamaserve.engine.testing.FakeCausalLm;
import dev.llamaserve.engine.testing.FakeDetokenizer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Text handling that needs a model whose output is known in advance: a scripted fake model emits the
 * bytes of a chosen text one byte-token at a time (so Chinese characters and emoji span 3-4 tokens),
 * through the byte-level fake tokenizer. Fake model only: the real model's output cannot be scripted.
 */
class FakeModelOnlyEngineTest {

    static final int VOCAB = 600;
    static final int EOS = 590;
    static final int PROMPT_LEN = 5;
    static final String TEXT = "Hi 中文 and 🙂🎉 ok";

    private final List<LlmEngine> engines = new ArrayList<>();

    @AfterEach
    void close() {
        engines.forEach(LlmEngine::close);
    }

    private LlmEngine scripted(byte[] script) {
        int[] ids = new int[script.length];
        for (int i = 0; i < script.length; i++) {
            ids[i] = script[i] & 0xff;
        }
        FakeCausalLm lm = new FakeCausalLm(VOCAB, 4096, List.of(EOS), 1.0f, ctx -> {
            int k = ctx.length - PROMPT_LEN;
            return k < ids.length ? ids[k] : EOS;
        });
        LlmEngine e = LlmEngine.start(lm, new FakeDetokenizer(Set.of(EOS)),
                new ModelInfo(4096, VOCAB, Set.of(EOS), 0.6, 0.9, false, null), EngineOptions.defaults());
        engines.add(e);
        return e;
    }

    /**
     * An engine whose model writes {@code ids} and then {@code end}, with the stop ids {@code eosIds} of which
     * {@code primary} is the tokenizer's end-of-sequence id ({@link ModelInfo#eosTokenId}).
     */
    private LlmEngine ending(int[] ids, int end, Set<Integer> eosIds, Integer primary) {
        FakeCausalLm lm = new FakeCausalLm(VOCAB, 4096, List.copyOf(eosIds), 1.0f, ctx -> {
            int k = ctx.length - PROMPT_LEN;
            return k < ids.length ? ids[k] : end;
        });
        LlmEngine e = LlmEngine.start(lm, new FakeDetokenizer(eosIds),
                new ModelInfo(4096, VOCAB, eosIds, 0.6, 0.9, false, primary), EngineOptions.defaults());
        engines.add(e);
        return e;
    }

    /**
     * vLLM's {@code stop_reason}: a choice that ends on the tokenizer's end-of-sequence id has none; one that ends on
     * another of the model's stop ids (Llama 3.1 Instruct's {@code <|eom_id|>} beside {@code <|eot_id|>}) or on one of
     * the request's {@code stop_token_ids} has that id; a stop string, itself; the length, none.
     */
    @Test
    void theTokenizersEndOfSequenceGivesNoStopReasonAndEveryOtherStopItsOwn() {
        int eom = EOS + 1;
        int[] hi = {'H', 'i', ' ', 'o', 'k'};
        Set<Integer> eos = Set.of(EOS, eom);
        EngineEvent.Finished atEos = run(ending(hi, EOS, eos, EOS), greedy().build()).finished.join();
        assertEquals(FinishReason.STOP, atEos.reason());
        assertEquals(null, atEos.stopReason());
        EngineEvent.Finished atEom = run(ending(hi, eom, eos, EOS), greedy().build()).finished.join();
        assertEquals(FinishReason.STOP, atEom.reason());
        assertEquals(eom, atEom.stopReason());
        LlmEngine e = ending(hi, EOS, eos, EOS);
        Collector byId = run(e, greedy().stopTokenIds(Set.of((int) 'o')).build());
        assertEquals((int) 'o', byId.finished.join().stopReason());
        assertEquals("Hi ", byId.text());
        assertEquals("i", run(e, greedy().stop(List.of("i")).build()).finished.join().stopReason());
        EngineEvent.Finished cut = run(e, greedy().maxTokens(2).build()).finished.join();
        assertEquals(FinishReason.LENGTH, cut.reason());
        assertEquals(null, cut.stopReason());
        // no primary id known (a tokenizer without eos_token): every stop id is its own stop reason
        assertEquals(EOS, run(ending(hi, EOS, eos, null), greedy().build()).finished.join().stopReason());
    }

    private static Collector run(LlmEngine e, SamplingParams p) {
        Collector c = Collector.subscribe(e.submit(new GenerationRequest("r" + System.nanoTime(),
                new int[] {300, 301, 302, 303, 304}, p)));
        c.await(Duration.ofSeconds(60));
        return c;
    }

    private static SamplingParams.Builder greedy() {
        return SamplingParams.builder().temperature(0.0).maxTokens(100);
    }

    @Test
    void multiByteCharactersAreHeldBackUntilComplete() {
        byte[] bytes = TEXT.getBytes(StandardCharsets.UTF_8);
        LlmEngine e = scripted(bytes);
        Collector c = run(e, greedy().build());
        EngineEvent.Finished f = c.finished.join();
        assertEquals(FinishReason.STOP, f.reason());
        assertEquals(EOS, f.stopReason());
        assertEquals(TEXT, c.text());
        assertEquals(bytes.length + 1, c.tokenCount(), "one token per byte, then eos");
        int empty = 0;
        for (EngineEvent.Tokens t : c.tokenEvents()) {
            assertFalse(t.text().contains("\uFFFD"), "no replacement characters: " + t.text());
            assertFalse(!t.text().isEmpty() && Character.isHighSurrogate(t.text().charAt(t.text().length() - 1)),
                    "no split surrogate pair");
            if (t.text().isEmpty()) {
                empty++;
            }
        }
        // 中 and 文 hold back 2 bytes each, each emoji 3, plus the eos token.
        assertEquals(2 + 2 + 3 + 3 + 1, empty);
    }

    @Test
    void stopStringAcrossMultiByteTokensIsCutAndNeverEmitted() {
        LlmEngine e = scripted(TEXT.getBytes(StandardCharsets.UTF_8));
        Collector c = run(e, greedy().stop(List.of("文 a", "🎉")).build());
        EngineEvent.Finished f = c.finished.join();
        assertEquals(FinishReason.STOP, f.reason());
        assertEquals("文 a", f.stopReason());
        assertEquals("Hi 中", c.text());
        assertEquals("Hi 中文 a".getBytes(StandardCharsets.UTF_8).length, c.tokenCount(),
                "generation stops at the token completing the stop string");
        Collector emoji = run(e, greedy().stop(List.of("🎉")).build());
        assertEquals("Hi 中文 and 🙂", emoji.text());
        assertEquals("🎉", emoji.finished.join().stopReason());
    }

    @Test
    void heldBackStopPrefixIsReleasedWhenGenerationEnds() {
        LlmEngine e = scripted(TEXT.getBytes(StandardCharsets.UTF_8));
        Collector c = run(e, greedy().stop(List.of("okay")).build());
        EngineEvent.Finished f = c.finished.join();
        assertEquals(FinishReason.STOP, f.reason());
        assertEquals(EOS, f.stopReason());
        assertEquals(TEXT, c.text());
        assertEquals("ok", f.text(), "the held-back prefix comes with the final event");
        Collector len = run(e, greedy().maxTokens(TEXT.getBytes(StandardCharsets.UTF_8).length).stop(List.of("okay"))
                .build());
        assertEquals(FinishReason.LENGTH, len.finished.join().reason());
        assertEquals(TEXT, len.text());
    }

    @Test
    void danglingUtf8AtTheEndBecomesAReplacementCharacter() {
        byte[] b = "ab中".getBytes(StandardCharsets.UTF_8);
        byte[] cut = new byte[b.length - 1];
        System.arraycopy(b, 0, cut, 0, cut.length);
        LlmEngine e = scripted(cut);
        Collector c = run(e, greedy().build());
        assertEquals("ab\uFFFD", c.text());
    }

    /**
     * An Error on the engine thread while a request is being admitted (its sequences half made) ends that request
     * too, with the engine's failure: it is in no scheduler queue yet, and would otherwise wait for ever.
     */
    @Test
    void aRequestBeingAdmittedWhenTheEngineThreadFailsGetsItsEnd() {
        FakeDetokenizer plain = new FakeDetokenizer(Set.of(EOS));
        Detokenizer failing = new Detokenizer() {
            @Override
            public IncrementalDecoder newDecoder() {
                throw new AssertionError("no decoder (the test's Error)");
            }

            @Override
            public String decode(int[] ids, boolean skipSpecialTokens) {
                return plain.decode(ids, skipSpecialTokens);
            }

            @Override
            public byte[] tokenBytes(int id) {
                return plain.tokenBytes(id);
            }

            @Override
            public boolean isSpecial(int id) {
                return plain.isSpecial(id);
            }
        };
        FakeCausalLm lm = new FakeCausalLm(VOCAB, 4096, List.of(EOS), 1.0f, ctx -> EOS);
        LlmEngine e = LlmEngine.start(lm, failing, new ModelInfo(4096, VOCAB, Set.of(EOS), 0.6, 0.9, false, null),
                EngineOptions.defaults());
        engines.add(e);
        Collector c = run(e, greedy().n(2).build());
        assertTrue(c.finished.isDone(), "the request ended");
        EngineEvent.Finished f = c.finished.join();
        assertEquals(FinishReason.ERROR, f.reason());
        assertTrue(f.errorMessage().contains("no decoder"), f.errorMessage());
        assertEquals(EngineState.FAILED, e.stats().state());
        assertEquals(0, e.stats().waiting(), "it no longer counts as waiting");
    }

    @Test
    void stopStringsAreNotMatchedBeforeMinTokens() {
        LlmEngine e = scripted(TEXT.getBytes(StandardCharsets.UTF_8));
        Collector c = run(e, greedy().stop(List.of("Hi")).minTokens(3).build());
        // "Hi" is complete at token 2 < min_tokens 3: it is kept and generation goes on.
        assertTrue(c.text().startsWith("Hi 中"), c.text());
        // At token 2 = min_tokens too, as a stop token there would be (vLLM: more than min_tokens tokens)
        Collector atTheBound = run(e, greedy().stop(List.of("Hi")).minTokens(2).build());
        assertEquals(TEXT, atTheBound.text());
        assertEquals(FinishReason.STOP, atTheBound.finished.join().reason());
        assertEquals(EOS, atTheBound.finished.join().stopReason());
        // From token 3 = min_tokens + 1 on, a stop string ends generation: " " completes at token 3
        Collector after = run(e, greedy().stop(List.of("i ")).minTokens(2).build());
        assertEquals("H", after.text());
        assertEquals("i ", after.finished.join().stopReason());
        assertEquals(3, after.tokens().length);
        Collector stopped = run(e, greedy().stop(List.of("Hi")).build());
        assertEquals("", stopped.text());
        assertArrayEquals(new int[] {'H', 'i'}, stopped.tokens());
    }
}
