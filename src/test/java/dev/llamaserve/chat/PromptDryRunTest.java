package dev.llamaserve.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.engine.InvalidRequestException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class PromptDryRunTest {

    private static final LlamaTokenizer tok = TinyLlamaFixture.tokenizer();
    private final ChatFormat chat = new ChatFormat(tok, ChatOptions.defaults());
    private final PromptDryRun dryRun = new PromptDryRun(tok, chat);

    @Test
    void tokenizesAPromptStringWithBosAndParsedSpecialTokens() {
        PromptDryRun.TokenizeResult r = dryRun.tokenizePrompt("Hello<|eot_id|>", true, 2048);
        assertThat(r.tokens()[0]).isEqualTo(tok.specialTokens().beginOfText());
        assertThat(r.tokens()[r.tokens().length - 1]).isEqualTo(tok.specialTokens().endOfTurn());
        assertThat(r.count()).isEqualTo(r.tokens().length);
        assertThat(r.maxModelLen()).isEqualTo(2048);
        assertThat(r.prompt()).isNull();
        PromptDryRun.TokenizeResult bare = dryRun.tokenizePrompt("Hello<|eot_id|>", false, 2048);
        assertThat(bare.tokens()).isEqualTo(Arrays.copyOfRange(r.tokens(), 1, r.tokens().length));
    }

    /** A prompt to generate from follows add_special_tokens as /tokenize does, its length limit included. */
    @Test
    void aPromptToGenerateFollowsAddSpecialTokens() {
        int[] text = tok.encode("hi there", true);
        assertThat(dryRun.promptToGenerate("hi there", false, 2048)).isEqualTo(text);
        assertThat(dryRun.promptToGenerate("hi there", true, 2048))
                .isEqualTo(dryRun.tokenizePrompt("hi there", true, 2048).tokens()).hasSize(text.length + 1);
        // a prompt far over the context is refused from a part of it, with or without the BOS
        String tooLong = "hi there ".repeat(2000);
        for (boolean addSpecial : new boolean[] {false, true}) {
            assertThatThrownBy(() -> dryRun.promptToGenerate(tooLong, addSpecial, 64))
                    .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertThat(e.code())
                            .isEqualTo(InvalidRequestException.CONTEXT_LENGTH_EXCEEDED));
        }
    }

    /** A prompt that starts with <|begin_of_text|> gets no second one: /tokenize counts what /v1/completions runs. */
    @Test
    void aPromptThatStartsWithBeginOfTextGetsNoSecond() {
        int bos = tok.specialTokens().beginOfText();
        int[] written = dryRun.tokenizePrompt("<|begin_of_text|>hi", true, 2048).tokens();
        assertThat(written[0]).isEqualTo(bos);
        assertThat(written[1]).isNotEqualTo(bos);
        assertThat(written).isEqualTo(dryRun.tokenizePrompt("hi", true, 2048).tokens());
        assertThat(dryRun.tokenizePrompt("<|begin_of_text|>hi", false, 2048).tokens()).isEqualTo(written);
    }

    @Test
    void tokenizesMessagesAsTheChatEndpointWouldPromptThem() {
        JsonNode c = null;
        for (JsonNode x : TinyLlamaFixture.reference().get("chat_template").values()) {
            if (x.get("name").stringValue().equals("tool_call_and_result")) {
                c = x;
            }
        }
        ChatInput input = new ChatInput(c.get("messages"), c.get("tools"), true, null);
        PromptDryRun.TokenizeResult r = dryRun.tokenizeChat(input, 131072);
        assertThat(r.prompt()).isEqualTo(c.get("rendered").stringValue());
        assertThat(r.tokens()).isEqualTo(chat.prepare(input).tokenIds()).isEqualTo(tok.encode(r.prompt(), true));
        assertThat(r.count()).isEqualTo(r.tokens().length).isGreaterThan(100);
        assertThat(r.maxModelLen()).isEqualTo(131072);

        // /detokenize gives the prompt back
        assertThat(dryRun.detokenize(r.tokens())).isEqualTo(r.prompt());
            }

    @Test
    void dryRunAppliesTheSameValidation() {
        assertThatThrownBy(() -> dryRun.tokenizeChat(ChatInput.of(ChatJson.parse("[]")), 2048))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertThat(e.param()).isEqualTo("messages"));
    }

    /** A prompt string is text as a chat message is: a lone surrogate (JSON "\\udc00") has no UTF-8 form. */
    @Test
    void aPromptWithAnUnpairedSurrogateIsRefusedAsAMessageIs() {
        assertThatThrownBy(() -> dryRun.tokenizePrompt("a\udc00b", true, 2048))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> {
                    assertThat(e.param()).isEqualTo("prompt");
                    assertThat(e.getMessage()).contains("unpaired UTF-16 surrogate");
                });
        assertThat(dryRun.tokenizePrompt("a\ud83d\ude00b", true, 2048).count()).isPositive();
    }

    @Test
    void detokenizeRejectsIdsOutsideTheVocabulary() {
        assertThatThrownBy(() -> dryRun.detokenize(new int[] {1, 768}))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> {
                    assertThat(e.param()).isEqualTo("tokens[1]");
                    assertThat(e.code()).isEqualTo("invalid_value");
                    assertThat(e.getMessage()).contains("0..767").contains("got 768");
                });
        assertThatThrownBy(() -> dryRun.detokenize(new int[] {-5}))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> {
                    assertThat(e.param()).isEqualTo("tokens[0]");
                    assertThat(e.getMessage()).contains("got -5");
                });
    }
}
