package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.engine.checkpoint.CheckpointException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The tokenizer is checked against the checkpoint's vocab_size before the weights load. */
class TokenizerFitsTest {

    @Test
    void aTokenizerWithIdsPastTheVocabularyIsAnotherModelsAPaddedVocabularyIsAllowed() throws Exception {
        Path dir = Path.of(getClass().getResource("/fixtures/tiny-llama31").toURI());
        try (LlamaTokenizer tokenizer = LlamaTokenizer.load(dir)) {
            int ids = tokenizer.vocabSize();
            assertThatCode(() -> ModelRuntime.requireTokenizerFits(tokenizer, ids, dir)).doesNotThrowAnyException();
            assertThatCode(() -> ModelRuntime.requireTokenizerFits(tokenizer, ids + 8, dir))
                    .as("padded: more rows than ids").doesNotThrowAnyException();
            assertThatThrownBy(() -> ModelRuntime.requireTokenizerFits(tokenizer, ids - 100, dir))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining(dir.resolve("tokenizer.json") + " has token ids up to " + (ids - 1))
                    .hasMessageContaining("vocab_size is " + (ids - 100))
                    .hasMessageContaining("the tokenizer belongs to another model");
        }
    }

    @Test
    void aStopSetWithoutTheEndOfTurnIsWarnedOf() throws Exception {
        Path dir = Path.of(getClass().getResource("/fixtures/tiny-llama31").toURI());
        try (LlamaTokenizer tokenizer = LlamaTokenizer.load(dir)) {
            int eot = tokenizer.specialTokens().endOfTurn();
            int eos = tokenizer.specialTokens().endOfText();
            org.assertj.core.api.Assertions.assertThat(ModelRuntime.turnsThatNeverStop(java.util.Set.of(eos, eot),
                    tokenizer)).isEmpty();
            org.assertj.core.api.Assertions.assertThat(ModelRuntime.turnsThatNeverStop(java.util.Set.of(eos), tokenizer))
                    .hasValueSatisfying(w -> org.assertj.core.api.Assertions.assertThat(w)
                            .contains("<|eot_id|> (id " + eot + ")").contains("[" + eos + "]")
                            .contains("run to max_tokens"));
        }
    }
}
