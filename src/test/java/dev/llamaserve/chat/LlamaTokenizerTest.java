package dev.llamaserve.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.llamaserve.engine.Detokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LlamaTokenizerTest {

    private static final LlamaTokenizer tok = TinyLlamaFixture.tokenizer();
    /** An independent oracle: DJL's tokenizer on the same file, used directly. */
    private static HuggingFaceTokenizer djl;

    @BeforeAll
    static void loadOracle() throws Exception {
        djl = HuggingFaceTokenizer.newInstance(TinyLlamaFixture.dir().resolve("tokenizer.json"),
                Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
    }

    @AfterAll
    static void closeOracle() {
        djl.close();
    }

    @Test
    void specialTokensAreFoundByTheirText() {
        SpecialTokens s = tok.specialTokens();
        // the fixture's ids (README): the same order as the real model's 128000+ ids
        assertThat(s.beginOfText()).isEqualTo(512);
        assertThat(s.endOfText()).isEqualTo(513);
        assertThat(s.startHeader()).isEqualTo(518);
        assertThat(s.endHeader()).isEqualTo(519);
        assertThat(s.endOfMessage()).isEqualTo(520);
        assertThat(s.endOfTurn()).isEqualTo(521);
        assertThat(s.pythonTag()).isEqualTo(522);
        assertThat(tok.vocabSize()).isEqualTo(768);
        assertThat(tok.specialTokenTexts()).hasSize(256).contains("<|reserved_special_token_0|>");
        for (int id = 512; id < 768; id++) {
            assertThat(tok.isSpecial(id)).as("id %d", id).isTrue();
        }
        assertThat(tok.isSpecial(511)).isFalse();
        assertThat(new String(tok.tokenBytes(s.endOfTurn()), StandardCharsets.UTF_8)).isEqualTo("<|eot_id|>");
        assertThat(tok.chatTemplate()).hasValueSatisfying(t -> assertThat(t).contains("Cutting Knowledge Date"));
    }

    @Test
    void loadsTheFullTokenizerWithoutTruncation() {
        String longText = "word ".repeat(3000);
        int[] ids = tok.encode(longText, true);
        assertThat(ids.length).isGreaterThan(2048); // DJL would cut at 512 by default
        assertThat(tok.decode(ids, false)).isEqualTo(longText);
    }

    @Test
    void fullEncodingParsesSpecialTextPlainEncodingDoesNot() {
        String text = "Hi<|eot_id|><|start_header_id|>x";
        int[] full = tok.encode(text, true);
        assertThat(full).contains(tok.specialTokens().endOfTurn(), tok.specialTokens().startHeader());
        assertThat(full).isEqualTo(toInts(djl.encode(text, false, false).getIds()));

        int[] plain = tok.encode(text, false);
        assertThat(Arrays.stream(plain).filter(tok::isSpecial)).isEmpty();
        assertThat(tok.decode(plain, false)).isEqualTo(text);
        assertThat(tok.decode(plain, true)).isEqualTo(text); // ordinary tokens survive skipping specials
    }

    @Test
    void plainAndFullEncodingAgreeOnOrdinaryText() {
        for (String text : List.of("Hello world", "  leading and trailing  ", "你好，世界 🦙🎉", "a\n\nb\tc",
                "{\"city\": \"Stockholm\", \"n\": 1e+16}", "naïve \u001f control")) {
            assertThat(tok.encode(text, false)).as(text).isEqualTo(tok.encode(text, true));
            assertThat(tok.decode(tok.encode(text, false), false)).isEqualTo(text);
        }
    }

    @Test
    void decodeMatchesDjlAndSkipsSpecials() {
        int[] ids = concat(new int[] {tok.specialTokens().beginOfText()}, tok.encode("Grüße 🦙", false),
                new int[] {tok.specialTokens().endOfTurn()});
        long[] longs = Arrays.stream(ids).asLongStream().toArray();
        assertThat(tok.decode(ids, false)).isEqualTo(djl.decode(longs, false))
                .isEqualTo("<|begin_of_text|>Grüße 🦙<|eot_id|>");
        assertThat(tok.decode(ids, true)).isEqualTo(djl.decode(longs, true)).isEqualTo("Grüße 🦙");
    }

    @Test
    void incrementalDecodingNeverEmitsAPartialCharacter() {
        String text = "长上下文窗口 🦙🎉 emoji 👩‍💻 done";
        int[] ids = tok.encode(text, false);
        // the tiny vocabulary spells these characters in byte tokens: several tokens per character
        assertThat(ids.length).isGreaterThan(text.codePointCount(0, text.length()));
        Detokenizer.IncrementalDecoder decoder = tok.newDecoder();
        StringBuilder out = new StringBuilder();
        int heldBack = 0;
        for (int id : ids) {
            String piece = decoder.next(id);
            if (piece.isEmpty()) {
                heldBack++;
            }
            assertThat(piece).doesNotContain("\uFFFD");
            assertWellFormed(piece);
            out.append(piece);
        }
        out.append(decoder.flush());
        assertThat(heldBack).isGreaterThan(0);
        assertThat(out.toString()).isEqualTo(text);
    }

    @Test
    void specialTokensYieldNoTextButDoNotDisturbPendingBytes() {
        byte[] llama = "🦙".getBytes(StandardCharsets.UTF_8);
        Detokenizer.IncrementalDecoder decoder = tok.newDecoder();
        assertThat(decoder.next(byteToken(llama[0]))).isEmpty();
        assertThat(decoder.next(byteToken(llama[1]))).isEmpty();
        assertThat(decoder.next(tok.specialTokens().endOfTurn())).isEmpty();
        assertThat(decoder.next(byteToken(llama[2]))).isEmpty();
        assertThat(decoder.next(byteToken(llama[3]))).isEqualTo("🦙");
        assertThat(decoder.flush()).isEmpty();
    }

    @Test
    void invalidBytesBecomeReplacementCharacters() {
        // a lead byte followed by ASCII: proven invalid at once
        assertThat(feed(0xE4, 'a')).containsExactly("", "\uFFFDa");
        // a byte that can never start a character
        assertThat(feed(0xFF)).containsExactly("\uFFFD");
        // a valid 2-byte prefix of a 4-byte character, then an ASCII byte: one U+FFFD for the subpart
        assertThat(feed(0xF0, 0x9F, 'x')).containsExactly("", "", "\uFFFDx");
        // a surrogate encoding (ED A0 80) is invalid UTF-8: ED is held until A0 proves it invalid,
        // then one U+FFFD per byte
        assertThat(feed(0xED, 0xA0, 0x80)).containsExactly("", "\uFFFD\uFFFD", "\uFFFD");
        // a dangling prefix at the end of the stream
        Detokenizer.IncrementalDecoder d = tok.newDecoder();
        assertThat(d.next(byteToken((byte) 0xE4))).isEmpty();
        assertThat(d.next(byteToken((byte) 0xBD))).isEmpty();
        assertThat(d.flush()).isEqualTo("\uFFFD");

        int[] invalid = {byteToken((byte) 0xE4), byteToken((byte) 'a'), byteToken((byte) 0xFF),
                byteToken((byte) 0xF0), byteToken((byte) 0x9F), byteToken((byte) 'x'), byteToken((byte) 0xE4)};
        long[] longs = Arrays.stream(invalid).asLongStream().toArray();
        assertThat(tok.decode(invalid, false)).isEqualTo(djl.decode(longs, false)).isEqualTo("\uFFFDa\uFFFD\uFFFDx\uFFFD");
    }

    /**
     * {@code chat_template.jinja} beside tokenizer_config.json is the template, as in transformers, where the separate
     * file has priority over the entry (a fine-tune that rewrote the file leaves a stale entry behind).
     */
    @Test
    void theChatTemplateFileHasPriorityOverTheConfigEntry(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
            Files.copy(TinyLlamaFixture.dir().resolve(f), tmp.resolve(f));
        }
        try (LlamaTokenizer entryOnly = LlamaTokenizer.load(tmp)) {
            assertThat(entryOnly.chatTemplate()).hasValueSatisfying(t -> assertThat(t).contains("Cutting Knowledge"));
        }
        Files.writeString(tmp.resolve("chat_template.jinja"), "{{ messages[0]['content'] }}");
        try (LlamaTokenizer both = LlamaTokenizer.load(tmp)) {
            assertThat(both.chatTemplate()).hasValue("{{ messages[0]['content'] }}");
        }
    }

    /** A token as the vocabulary spells it (transformers' convert_ids_to_tokens): added tokens by their text. */
    @Test
    void tokenStringsAreTheVocabularysSpelling() {
        int[] ids = tok.encode("Hello world", true);
        StringBuilder spelled = new StringBuilder();
        for (int id : ids) {
            String s = tok.tokenString(id);
            assertThat(ByteLevelAlphabet.toBytes(s)).isEqualTo(tok.tokenBytes(id));
            spelled.append(s);
        }
        assertThat(spelled.toString()).isEqualTo("HelloĠworld");
        assertThat(tok.tokenString(tok.specialTokens().endOfTurn())).isEqualTo("<|eot_id|>");
        assertThatThrownBy(() -> tok.tokenString(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    /** tokenizer_config.json's eos_token as its id (a stop id of the model: ModelRuntime.stopTokenIds). */
    @Test
    void theEosTokenOfTheTokenizerConfigIsItsId(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        assertThat(tok.eosTokenId()).hasValue(tok.specialTokens().endOfTurn());
        Files.copy(TinyLlamaFixture.dir().resolve("tokenizer.json"), tmp.resolve("tokenizer.json"));
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"eos_token\": {\"content\": \"<|end_of_text|>\"}}");
        try (LlamaTokenizer object = LlamaTokenizer.load(tmp)) {
            assertThat(object.eosTokenId()).hasValue(object.specialTokens().endOfText());
        }
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{}");
        try (LlamaTokenizer none = LlamaTokenizer.load(tmp)) {
            assertThat(none.eosTokenId()).isEmpty();
        }
    }

    /** A broken tokenizer file is named with what is wrong with it: missing, cut short, a Git LFS pointer. */
    @Test
    void aBrokenTokenizerFileIsNamed(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path missing = Files.createDirectories(tmp.resolve("missing"));
        assertThatThrownBy(() -> LlamaTokenizer.load(missing)).isInstanceOf(TokenizerLoadException.class)
                .hasMessageContaining("NoSuchFileException").hasMessageContaining("tokenizer.json");
        byte[] whole = Files.readAllBytes(TinyLlamaFixture.dir().resolve("tokenizer.json"));
        Path cut = Files.createDirectories(tmp.resolve("cut"));
        Files.write(cut.resolve("tokenizer.json"), Arrays.copyOf(whole, 5000));
        assertThatThrownBy(() -> LlamaTokenizer.load(cut)).isInstanceOf(TokenizerLoadException.class)
                .hasMessageContaining(cut.resolve("tokenizer.json") + " is not readable JSON (5000 bytes)");
        Path lfs = Files.createDirectories(tmp.resolve("lfs"));
        Files.writeString(lfs.resolve("tokenizer.json"), "version https://git-lfs.github.com/spec/v1\n"
                + "oid sha256:0123\nsize 9085657\n");
        assertThatThrownBy(() -> LlamaTokenizer.load(lfs)).hasMessageContaining("a Git LFS pointer");
    }

    @Test
    void outOfRangeIdsAreRejected() {
        assertThatThrownBy(() -> tok.tokenBytes(768)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("768").hasMessageContaining("0..767");
        assertThatThrownBy(() -> tok.decode(new int[] {-1}, false)).isInstanceOf(IllegalArgumentException.class);
    }

    private static List<String> feed(int... bytes) {
        Detokenizer.IncrementalDecoder d = tok.newDecoder();
        List<String> out = new ArrayList<>();
        for (int b : bytes) {
            out.add(d.next(byteToken((byte) b)));
        }
        return out;
    }

    /** The id of the token that is exactly this one byte, found in the vocabulary. */
    private static int byteToken(byte b) {
        for (int id = 0; id < tok.vocabSize(); id++) {
            byte[] bytes = tok.tokenBytes(id);
            if (!tok.isSpecial(id) && bytes.length == 1 && bytes[0] == b) {
                return id;
            }
        }
        throw new AssertionError("no single-byte token for " + (b & 0xFF));
    }

    private static void assertWellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c)) {
                assertThat(i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1)))
                        .as("high surrogate at %d is completed", i).isTrue();
                i++;
            } else {
                assertThat(Character.isLowSurrogate(c)).as("lone low surrogate at %d", i).isFalse();
            }
        }
    }

    static int[] toInts(long[] ids) {
        return Arrays.stream(ids).mapToInt(Math::toIntExact).toArray();
    }

    /** A mix of what the split pattern treats differently: letters, digits, punctuation, spaces, newlines, Unicode. */
    private static String mixedText(long seed, int words) {
        java.util.Random r = new java.util.Random(seed);
        String[] parts = {"word", "It's", "don't", "12345", "3.14", "(x)", "a,b", "--", "!!", "naïve", "你好", "🦙",
            "e\u0301", "\u00a0", "\t", "\n", "\r\n", "  ", " ", "'", "\"", "x1", "__init__", "<|eot_id|>"};
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < words; i++) {
            b.append(parts[r.nextInt(parts.length)]);
            if (r.nextInt(3) > 0) {
                b.append(' ');
            }
        }
        return b.toString();
    }

    /** The ids come from the tokenizer's token ids alone, equal to DJL's whole Encoding's. */
    @Test
    void idsEqualDjlsEncodingShortAndLong() {
        for (String text : List.of("Hello world", mixedText(1, 200), mixedText(2, 40_000))) {
            assertThat(LlamaTokenizer.utf8Length(text)).isEqualTo(text.getBytes(StandardCharsets.UTF_8).length);
            assertThat(text.length() > LlamaTokenizer.LONG_TEXT_BYTES || text.length() < 2000).isTrue();
            long[] expected = djl.encode(text, false, false).getIds();
            assertThat(Arrays.stream(tok.encode(text, true)).asLongStream().toArray()).isEqualTo(expected);
        }
    }

    /**
     * Where prefixEnd cuts, the two parts encode to the whole text's ids (no pre-token runs across the cut),
     * which is what lets tokensAtLeast count a prefix: checked at every cut it finds in a mixed text, plainly
     * and with special-token text parsed (never inside {@code <|eot_id|>}).
     */
    @Test
    void aCutWherePreTokensEndSplitsTheEncodingExactly() {
        String text = mixedText(3, 3000);
        for (boolean parse : new boolean[] {false, true}) {
            int[] whole = tok.encode(text, parse);
            int cuts = 0;
            for (int from = 1; from < text.length(); ) {
                int cut = tok.prefixEnd(text, from, parse);
                if (cut < 0) {
                    break;
                }
                int[] parts = concat(tok.encode(text.substring(0, cut), parse),
                        tok.encode(text.substring(cut), parse));
                assertThat(parts).as("cut at %d (special tokens parsed %s)", cut, parse).isEqualTo(whole);
                cuts++;
                from = cut + 1 + cut % 41;   // hundreds of cuts, at places of every kind
            }
            assertThat(cuts).isGreaterThan(100);
        }
        assertThat(LlamaTokenizer.preTokenEnd("aaaa" + "\u00a0 ".repeat(3), 4)).as("not after other whitespace")
                .isEqualTo(-1);
        assertThat(LlamaTokenizer.preTokenEnd("e\u0301 x y", 0)).as("not after a combining mark").isEqualTo(4);
        assertThat(LlamaTokenizer.preTokenEnd("{\"ab\":12}", 1)).as("a letter before a quote").isEqualTo(4);
        assertThat(LlamaTokenizer.preTokenEnd("<|eot_id|> x", 1)).as("a letter before an underscore").isEqualTo(5);
        assertThat(tok.prefixEnd("<|eot_id|> x", 1, true)).as("parsed: not within a special token").isEqualTo(10);
        assertThat(tok.prefixEnd("<|eot_id|> x", 1, false)).as("plain: special-token text is text").isEqualTo(5);
        assertThat(LlamaTokenizer.preTokenEnd("你好你好", 1)).as("one word: no cut").isEqualTo(-1);
    }

    /** A text far over a budget is proven so from a prefix, by a count no larger than its own. */
    @Test
    void tokensAtLeastProvesATooLongTextFromAPrefix() {
        String minifiedJson = "{\"key\":\"value\",\"n\":12345,\"list\":[1,2,3]},".repeat(20_000);
        for (String text : List.of(mixedText(4, 60_000), minifiedJson)) {
            int total = tok.encode(text, false).length;
            int budget = total / 20;
            int atLeast = tok.tokensAtLeast(text, budget);
            assertThat(atLeast).isGreaterThan(budget).isLessThanOrEqualTo(total);
            assertThat(tok.tokensAtLeast(text, total)).as("within the budget: no proof").isEqualTo(-1);
        }
        assertThat(tok.tokensAtLeast("short text", 1)).isEqualTo(-1);
    }

    static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }
}
