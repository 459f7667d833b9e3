package dev.llamaserve.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.chat.LlamaTokenizer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The warm-up request fits any max-model-len the settings allow (2 and up): it was a fixed 2-token prompt. */
class WarmUpPromptTest {

    @Test
    void theWarmUpPromptLeavesItsCompletionTokenRoom() throws Exception {
        Path dir = Path.of(getClass().getResource("/fixtures/tiny-llama31").toURI());
        try (LlamaTokenizer tokenizer = LlamaTokenizer.load(dir)) {
            int bos = tokenizer.specialTokens().beginOfText();
            int[] whole = ModelLoading.warmUpPrompt(tokenizer, 4096);
            assertThat(whole.length).isGreaterThanOrEqualTo(2);
            assertThat(whole[0]).isEqualTo(bos);
            assertThat(ModelLoading.warmUpPrompt(tokenizer, 2)).containsExactly(bos);
            for (int len = 2; len <= whole.length + 1; len++) {
                int[] p = ModelLoading.warmUpPrompt(tokenizer, len);
                assertThat(p.length + 1).as("max-model-len %d", len).isLessThanOrEqualTo(len);
                assertThat(whole).startsWith(p);
            }
        }
    }
}
