package dev.llamaserve.chat;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;

/** Fixture conversations: rendered text and ids as transformers/vLLM would produce them. */
class ChatEncodingTest {

    private static final LlamaTokenizer tok = TinyLlamaFixture.tokenizer();
    private static HuggingFaceTokenizer oracle;
    private final ChatFormat chat = new ChatFormat(tok, ChatOptions.defaults());

    @BeforeAll
    static void loadOracle() throws Exception {
        oracle = HuggingFaceTokenizer.newInstance(TinyLlamaFixture.dir().resolve("tokenizer.json"),
                Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
    }

    @AfterAll
    static void closeOracle() {
        oracle.close();
    }

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> cases() {
        return Llama31ChatTemplateTest.cases();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void idsEqualTheTokenizerAppliedToTheRenderedText(String name, JsonNode c) {
        ChatPrompt prompt = chat.prepare(new ChatInput(c.get("messages"), c.get("tools"),
                c.get("add_generation_prompt").booleanValue(), Llama31ChatTemplateTest.kwargs(c)));
        String rendered = c.get("rendered").stringValue();
        assertThat(prompt.text()).isEqualTo(rendered);

        int[] ids = prompt.tokenIds();
        int bos = tok.specialTokens().beginOfText();
        assertThat(Arrays.stream(ids).filter(id -> id == bos).count()).isEqualTo(1);
        assertThat(ids[0]).isEqualTo(bos);
        int[] expected = LlamaTokenizerTest.toInts(oracle.encode(rendered, false, false).getIds());
        assertThat(ids).isEqualTo(expected);
        assertThat(tok.decode(ids, false)).isEqualTo(rendered);

        // every request span decodes to its text, plus at most the template characters that share
        // its first or last pre-token (here: ` {"` before tool-call arguments)
        RenderedPrompt segments = new Llama31ChatTemplate().render(
                new ChatRequestParser(256).parse(c.get("messages"), c.get("tools")),
                chat.templateArgs(Llama31ChatTemplateTest.kwargs(c), c.get("add_generation_prompt").booleanValue()));
        assertSpansDecodeToTheirText(segments, prompt.encoded(), tok);
    }

    /** Checks each request span against its segment; returns how many spans were aligned. */
    static int assertSpansDecodeToTheirText(RenderedPrompt rendered, EncodedPrompt encoded, LlamaTokenizer tok) {
        String text = rendered.text();
        int[] ids = encoded.tokenIds();
        int spanIndex = 0;
        int offset = 0;
        int aligned = 0;
        for (RenderedPrompt.Segment s : rendered.segments()) {
            if (s.kind() == RenderedPrompt.Kind.REQUEST) {
                EncodedPrompt.TokenSpan span = encoded.requestSpans().get(spanIndex++);
                assertThat(span.param()).isEqualTo(s.param());
                for (int i = span.start(); i < span.end(); i++) {
                    assertThat(tok.isSpecial(ids[i])).as("%s: token %d is special", s.param(), ids[i]).isFalse();
                }
                String decoded = tok.decode(Arrays.copyOfRange(ids, span.start(), span.end()), false);
                if (span.aligned()) {
                    assertThat(decoded).as(s.param()).isEqualTo(s.text());
                    aligned++;
                } else {
                    int at = decoded.indexOf(s.text());
                    assertThat(at).as("%s decodes to a text containing it", s.param()).isGreaterThanOrEqualTo(0);
                    String left = decoded.substring(0, at);
                    String right = decoded.substring(at + s.text().length());
                    assertThat(left.length() + right.length()).isGreaterThan(0);
                    assertThat(text.substring(0, offset)).endsWith(left);
                    assertThat(text.substring(offset + s.text().length())).startsWith(right);
                }
            }
            offset += s.text().length();
        }
        assertThat(spanIndex).isEqualTo(encoded.requestSpans().size());
        return aligned;
    }
}
