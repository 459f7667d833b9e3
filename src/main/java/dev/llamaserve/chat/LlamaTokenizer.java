package dev.llamaserve.chat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import dev.llamaserve.engine.Detokenizer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Semaphore;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The checkpoint's Hugging Face tokenizer (DJL's binding of the Rust {@code tokenizers}) plus the
 * byte-level vocabulary for decoding.
 *
 * <p>Two DJL tokenizers are built from the same {@code tokenizer.json}: the full one, which turns
 * special-token text such as {@code <|eot_id|>} into its control id, and a plain one with the special
 * added tokens removed, which encodes special-token text as ordinary byte-level tokens. The plain one
 * keeps the non-special added tokens ({@code "special": false}, which fine-tunes add for tags or domain
 * words), matched in any text before BPE with their {@code lstrip}, {@code rstrip}, {@code single_word}
 * and {@code normalized} flags as Hugging Face's {@code tokenizers} matches them; their ids, which the
 * library numbers in order after the model's vocabulary, are mapped to the checkpoint's (with the special
 * tokens gone, the plain one numbers them from where the special ones start). Text that comes from a
 * request goes through the plain one only, so it can never produce a control id. Special tokens are
 * found by their text, never by id. Neither tokenizer truncates or pads (DJL's defaults would cut
 * at 512 tokens).
 *
 * <p>Encoding reads the token ids only (DJL's {@code Encoding} also builds a string, a character span and four
 * longs per token: about 300 MB of heap for a 4 MB prompt), and texts of over {@link #LONG_TEXT_BYTES} bytes of
 * UTF-8 are encoded within a budget of {@link #LONG_TEXT_BUDGET_KIB} KiB at once (one default largest request
 * body: the native encoding takes some hundred bytes per token, and a token is at most a byte of text), so that a
 * handful of the largest request bodies cannot fill the memory.
 */
public final class LlamaTokenizer implements Detokenizer, AutoCloseable {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Map<String, String> DJL_OPTIONS =
            Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");

    /** Texts of more UTF-8 bytes than this take their size from {@link #LONG_TEXTS} while they are encoded. */
    static final int LONG_TEXT_BYTES = 1 << 16;
    /** KiB of UTF-8 of long texts encoded at once: one largest default request body (4 MiB). */
    static final int LONG_TEXT_BUDGET_KIB = 4 << 10;
    private static final Semaphore LONG_TEXTS = new Semaphore(LONG_TEXT_BUDGET_KIB, true);
    /**
     * Tokens a prefix must exceed a budget by before {@link #tokensAtLeast} calls the whole text longer: the
     * prefix ends at a pre-token boundary, where it encodes as the whole text does, and this covers any doubt.
     */
    private static final int PREFIX_MARGIN = 16;

    private final HuggingFaceTokenizer full;
    private final HuggingFaceTokenizer plain;
    /** The plain tokenizer's ids of its added tokens, as the checkpoint's. */
    private final PlainIds plainIds;
    private final byte[][] tokenBytes;
    private final boolean[] special;
    private final Map<String, Integer> addedTokenIds;
    private final List<String> specialTokenTexts;
    /** The text of every added token the full tokenizer matches (all), and of those the plain one matches. */
    private final AddedTexts fullAdded;
    private final AddedTexts plainAdded;
    /** Non-special added tokens that take in whitespace beside them ({@code lstrip}, {@code rstrip}), by id. */
    private final Map<Integer, Strip> stripping;
    private final SpecialTokens specialTokens;
    private final String chatTemplate;
    private final Integer eosTokenId;

    private LlamaTokenizer(HuggingFaceTokenizer full, HuggingFaceTokenizer plain, PlainIds plainIds,
            byte[][] tokenBytes, boolean[] special, Map<String, Integer> addedTokenIds, List<String> specialTokenTexts,
            AddedTexts fullAdded, AddedTexts plainAdded, Map<Integer, Strip> stripping, SpecialTokens specialTokens,
            String chatTemplate, Integer eosTokenId) {
        this.full = full;
        this.plain = plain;
        this.plainIds = plainIds;
        this.tokenBytes = tokenBytes;
        this.special = special;
        this.addedTokenIds = addedTokenIds;
        this.specialTokenTexts = specialTokenTexts;
        this.fullAdded = fullAdded;
        this.plainAdded = plainAdded;
        this.stripping = stripping;
        this.specialTokens = specialTokens;
        this.chatTemplate = chatTemplate;
        this.eosTokenId = eosTokenId;
    }

    /** Which whitespace an added token takes in with its text: on its left ({@code lstrip}), on its right. */
    private record Strip(String content, boolean left, boolean right) {}

    /**
     * The plain tokenizer's ids of its added tokens, {@code from} on, as the checkpoint's ({@code to[id - from]});
     * null {@code to}: the same ids.
     */
    private record PlainIds(int from, int[] to) {

        int map(long id) {
            if (to == null || id < from) {
                return Math.toIntExact(id);
            }
            if (id - from >= to.length || to[(int) (id - from)] < 0) {
                throw new IllegalStateException("the plain tokenizer gave id " + id + ", none of its added tokens");
            }
            return to[(int) (id - from)];
        }
    }

    /** Added tokens' texts, those matched as a single word only ({@code single_word}), and the longest's length. */
    private record AddedTexts(List<String> texts, Set<String> singleWord, int longest) {

        static AddedTexts of(Iterable<JsonNode> tokens) {
            List<String> texts = new ArrayList<>();
            Set<String> singleWord = new HashSet<>();
            for (JsonNode t : tokens) {
                String content = t.path("content").asString();
                if (!content.isEmpty()) {
                    texts.add(content);
                    if (t.path("single_word").booleanValue(false)) {
                        singleWord.add(content);
                    }
                }
            }
            return new AddedTexts(List.copyOf(texts), Set.copyOf(singleWord),
                    texts.stream().mapToInt(String::length).max().orElse(0));
        }

        /**
         * Whether one of the texts occurs in {@code text} starting before {@code cut} and ending after it, or a
         * single-word one ending at it: a token matched across a cut, or one matched at the end of the prefix
         * and perhaps not in the whole text (where a word character follows).
         */
        boolean across(String text, int cut) {
            if (longest == 0) {
                return false;
            }
            int lo = Math.max(0, cut - longest);
            String window = text.substring(lo, Math.min(text.length(), cut + longest));
            for (String t : texts) {
                for (int at = window.indexOf(t); at >= 0 && lo + at < cut; at = window.indexOf(t, at + 1)) {
                    int end = lo + at + t.length();
                    if (end > cut || (end == cut && singleWord.contains(t))) {
                        return true;
                    }
                }
            }
            return false;
        }
    }

    /** Loads {@code tokenizer.json} and {@code tokenizer_config.json} from a checkpoint directory. */
    public static LlamaTokenizer load(Path modelDir) {
        Path tokenizerJson = modelDir.resolve("tokenizer.json");
        Path configJson = modelDir.resolve("tokenizer_config.json");
        try {
            byte[] tokenizerBytes = Files.readAllBytes(tokenizerJson);
            JsonNode tokenizer = readJson(tokenizerJson, tokenizerBytes);
            JsonNode config = Files.exists(configJson) ? readJson(configJson, Files.readAllBytes(configJson))
                    : JSON.createObjectNode();

            Map<String, Integer> vocab = new HashMap<>();
            for (Map.Entry<String, JsonNode> e : tokenizer.path("model").path("vocab").properties()) {
                vocab.put(e.getKey(), e.getValue().intValue());
            }
            if (vocab.isEmpty()) {
                throw new TokenizerLoadException(tokenizerJson + " has no model.vocab");
            }
            Map<String, Integer> added = new HashMap<>();
            Map<Integer, Boolean> addedSpecial = new HashMap<>();
            ObjectNode plainJson = (ObjectNode) tokenizer.deepCopy();
            ArrayNode plainAddedJson = plainJson.putArray("added_tokens");   // the non-special ones, in their order
            Map<Integer, Strip> stripping = new HashMap<>();
            for (JsonNode t : tokenizer.path("added_tokens").values()) {
                String content = t.path("content").asString();
                int id = t.path("id").intValue();
                added.put(content, id);
                addedSpecial.put(id, t.path("special").booleanValue(true));
                if (!t.path("special").booleanValue(true)) {
                    plainAddedJson.add(t);
                    boolean left = t.path("lstrip").booleanValue(false);
                    boolean right = t.path("rstrip").booleanValue(false);
                    if (left || right) {
                        stripping.put(id, new Strip(content, left, right));
                    }
                }
            }
            int size = 0;
            for (int id : vocab.values()) {
                size = Math.max(size, id + 1);
            }
            for (int id : added.values()) {
                size = Math.max(size, id + 1);
            }
            byte[][] bytes = new byte[size][];
            boolean[] special = new boolean[size];
            for (Map.Entry<String, Integer> e : vocab.entrySet()) {
                byte[] b = ByteLevelAlphabet.toBytes(e.getKey());
                if (b == null) {
                    throw new TokenizerLoadException("vocabulary entry " + e.getValue()
                            + " is not spelled in the byte-level alphabet: not a byte-level BPE tokenizer");
                }
                bytes[e.getValue()] = b;
            }
            List<String> specialTexts = new ArrayList<>();
            for (Map.Entry<String, Integer> e : added.entrySet()) {
                bytes[e.getValue()] = e.getKey().getBytes(StandardCharsets.UTF_8);
                if (addedSpecial.get(e.getValue())) {
                    special[e.getValue()] = true;
                    specialTexts.add(e.getKey());
                }
            }
            for (int i = 0; i < size; i++) {
                if (bytes[i] == null) {
                    bytes[i] = new byte[0];
                }
            }
            String bos = tokenText(config.get("bos_token"), SpecialTokens.BEGIN_OF_TEXT);
            SpecialTokens specials = new SpecialTokens(
                    require(added, bos, tokenizerJson),
                    require(added, SpecialTokens.END_OF_TEXT, tokenizerJson),
                    require(added, SpecialTokens.START_HEADER, tokenizerJson),
                    require(added, SpecialTokens.END_HEADER, tokenizerJson),
                    require(added, SpecialTokens.END_OF_MESSAGE, tokenizerJson),
                    require(added, SpecialTokens.END_OF_TURN, tokenizerJson),
                    require(added, SpecialTokens.PYTHON_TAG, tokenizerJson));

            plainJson.putNull("post_processor");
            HuggingFaceTokenizer full = HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(tokenizerBytes), DJL_OPTIONS);
            HuggingFaceTokenizer plain = HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(JSON.writeValueAsBytes(plainJson)), DJL_OPTIONS);
            AddedTexts plainAdded = AddedTexts.of(plainAddedJson.values());
            PlainIds plainIds;
            try {
                plainIds = plainIds(plain, plainAdded.texts(), added, vocab.size(), tokenizerJson);
            } catch (RuntimeException e) {
                full.close();
                plain.close();
                throw e;
            }
            specialTexts.sort(null);
            return new LlamaTokenizer(full, plain, plainIds, bytes, special, Map.copyOf(added),
                    Collections.unmodifiableList(specialTexts), AddedTexts.of(tokenizer.path("added_tokens").values()),
                    plainAdded, Map.copyOf(stripping), specials, readChatTemplate(config, modelDir),
                    added.get(tokenText(config.get("eos_token"), "")));
        } catch (IOException e) {
            // the exception's class says what went wrong (NoSuchFileException, AccessDeniedException): its message
            // is often only the path
            throw new TokenizerLoadException("cannot read the tokenizer in " + modelDir + ": " + e, e);
        }
    }

    /**
     * The checkpoint's ids of the plain tokenizer's added tokens (the non-special ones), each found by encoding its
     * text alone: the library numbers added tokens that are not in the model's vocabulary on from its size, in
     * order, so without the special ones before them the plain tokenizer's ids differ from the full one's.
     */
    private static PlainIds plainIds(HuggingFaceTokenizer plain, List<String> texts, Map<String, Integer> added,
            int modelVocab, Path file) {
        Map<Integer, Integer> ids = new HashMap<>();
        int last = -1;
        for (String text : texts) {
            long[] own = tokenIds(plain, text);
            if (own.length != 1) {
                throw new TokenizerLoadException(file + "'s added token " + added.get(text)
                        + " does not encode to one token on its own (" + own.length + " tokens)");
            }
            if (own[0] >= modelVocab) {
                ids.put(Math.toIntExact(own[0]), added.get(text));
                last = Math.max(last, Math.toIntExact(own[0]));
            }
        }
        if (ids.entrySet().stream().allMatch(e -> e.getKey().equals(e.getValue()))) {
            return new PlainIds(modelVocab, null);
        }
        int[] to = new int[last - modelVocab + 1];
        Arrays.fill(to, -1);
        ids.forEach((from, id) -> to[from - modelVocab] = id);
        return new PlainIds(modelVocab, to);
    }

    /** A tokenizer file's JSON; a file that is not JSON (truncated, a Git LFS pointer) is named in the error. */
    private static JsonNode readJson(Path file, byte[] bytes) {
        try {
            return JSON.readTree(bytes);
        } catch (JacksonException e) {
            String start = new String(bytes, 0, Math.min(bytes.length, 40), StandardCharsets.UTF_8);
            throw new TokenizerLoadException(file + " is not readable JSON (" + bytes.length + " bytes"
                    + (start.startsWith("version https://git-lfs") ? ", a Git LFS pointer: fetch the file with git lfs"
                    : "") + "): " + e.getOriginalMessage(), e);
        }
    }

    private static int require(Map<String, Integer> added, String text, Path file) {
        Integer id = added.get(text);
        if (id == null) {
            throw new TokenizerLoadException(file + " has no added token " + text
                    + ", which the Llama 3.1 chat format needs");
        }
        return id;
    }

    /** A token given in tokenizer_config.json either as a string or as {"content": ...}. */
    private static String tokenText(JsonNode node, String fallback) {
        if (node == null || node.isNull()) {
            return fallback;
        }
        return node.isString() ? node.stringValue() : node.path("content").asString(fallback);
    }

    /**
     * The checkpoint's chat template: {@code chat_template.jinja} where it exists (transformers gives the separate file
     * priority over the entry in tokenizer_config.json, and its newer versions save the template there), else the
     * entry.
     */
    private static String readChatTemplate(JsonNode config, Path modelDir) throws IOException {
        Path file = modelDir.resolve("chat_template.jinja");
        if (Files.exists(file)) {
            return Files.readString(file);
        }
        JsonNode t = config.get("chat_template");
        if (t != null && t.isString()) {
            return t.stringValue();
        }
        if (t != null && t.isArray()) { // [{"name": "default", "template": ...}, ...]
            for (JsonNode named : t.values()) {
                if ("default".equals(named.path("name").asString(""))) {
                    return named.path("template").asString(null);
                }
            }
        }
        return null;
    }

    /**
     * Encodes text without adding {@code <|begin_of_text|>}. Non-special added tokens are matched either way, as
     * Hugging Face's tokenizer matches them in any text.
     *
     * @param parseSpecialTokens true: special-token text becomes its control id (for template
     *     structure and raw completion prompts); false: special-token text is ordinary text (for request text)
     */
    public int[] encode(String text, boolean parseSpecialTokens) {
        if (text.isEmpty()) {
            return new int[0];
        }
        long[] ids = ids(parseSpecialTokens ? full : plain, text);
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = parseSpecialTokens ? Math.toIntExact(ids[i]) : plainIds.map(ids[i]);
        }
        return out;
    }

    /**
     * Where each token of {@code ids}, {@link #encode encode(text, false)}, starts in {@code text}'s UTF-8, and the
     * text's length last: a token covers its bytes, and a non-special added token with {@code lstrip} or
     * {@code rstrip} also the whitespace beside it that it took in, which Hugging Face's tokenizer drops (Unicode
     * White_Space, as its {@code \s}). {@code text} is valid UTF-16.
     *
     * @throws IllegalStateException where the tokens do not spell the text (not a byte-level BPE)
     */
    long[] byteStarts(String text, int[] ids) {
        long[] starts = new long[ids.length + 1];
        int chars = 0;          // text[0, chars) is text's UTF-8 [0, charsBytes)
        long charsBytes = 0;
        for (int i = 0; i < ids.length; i++) {
            checkId(ids[i]);
            Strip strip = stripping.get(ids[i]);
            if (strip == null) {
                starts[i + 1] = starts[i] + tokenBytes[ids[i]].length;
                continue;
            }
            for (; charsBytes < starts[i] && chars < text.length(); chars++) {
                char c = text.charAt(chars);
                charsBytes += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3;
            }
            if (charsBytes != starts[i]) {
                throw notSpelled(starts[i], text);
            }
            int at = strip.left() ? skipWhiteSpace(text, chars) : chars;
            if (!text.startsWith(strip.content(), at)) {
                throw new IllegalStateException("added token " + ids[i] + " is not where the tokenizer put it");
            }
            int end = at + strip.content().length();
            end = strip.right() ? skipWhiteSpace(text, end) : end;
            starts[i + 1] = starts[i] + utf8Length(text.substring(chars, end));
            chars = end;
            charsBytes = starts[i + 1];
        }
        long total = utf8Length(text);
        if (starts[ids.length] != total) {
            throw notSpelled(starts[ids.length], text);
        }
        return starts;
    }

    private static IllegalStateException notSpelled(long tokenBytes, String text) {
        return new IllegalStateException("the tokenizer does not spell its input byte for byte (" + tokenBytes
                + " token bytes for " + utf8Length(text) + " text bytes): not a byte-level BPE");
    }

    /** The first index at or after {@code from} whose character is not Unicode White_Space. */
    private static int skipWhiteSpace(String text, int from) {
        int i = from;
        while (i < text.length() && isWhiteSpace(text.codePointAt(i))) {
            i += Character.charCount(text.codePointAt(i));
        }
        return i;
    }

    /** Unicode's White_Space property (Rust's {@code char::is_whitespace} and regex {@code \s}). */
    static boolean isWhiteSpace(int c) {
        return (c >= 0x09 && c <= 0x0D) || c == ' ' || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F
                || c == 0x3000;
    }

    /** The token ids of {@code text}, without the rest of DJL's {@code Encoding}; long texts within the budget. */
    private static long[] ids(HuggingFaceTokenizer tokenizer, String text) {
        long bytes = text.length() <= LONG_TEXT_BYTES / 3 ? 0 : utf8Length(text);
        int kib = bytes <= LONG_TEXT_BYTES ? 0 : (int) Math.min(LONG_TEXT_BUDGET_KIB, (bytes + 1023) / 1024);
        if (kib == 0) {   // a short text takes nothing: never queued behind long ones (the semaphore is fair)
            return tokenIds(tokenizer, text);
        }
        LONG_TEXTS.acquireUninterruptibly(kib);
        try {
            return tokenIds(tokenizer, text);
        } finally {
            LONG_TEXTS.release(kib);
        }
    }

    private static long[] tokenIds(HuggingFaceTokenizer tokenizer, String text) {
        long encoding = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, false);
        try {
            return TokenizersLibrary.LIB.getTokenIds(encoding);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
    }

    /** The UTF-8 length of {@code text} (a pair of surrogates is 4 bytes), without encoding it. */
    static long utf8Length(String text) {
        long n = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            n += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isHighSurrogate(c) ? 4 : Character.isLowSurrogate(c) ? 0 : 3;
        }
        return n;
    }

    /** {@link #tokensAtLeast(String, int, boolean)} of request text, encoded plainly. */
    public int tokensAtLeast(String text, int budget) {
        return tokensAtLeast(text, budget, false);
    }

    /**
     * A proof that text encodes (as {@link #encode encode(text, parseSpecialTokens)} does) to more than
     * {@code budget} tokens, from a prefix: a lower bound above {@code budget}, or -1 where none was found (the
     * caller then encodes the whole text). Prefixes of 4, 8, 16, ... times {@code budget} characters, each at most
     * half the text, are encoded, each cut where it encodes as it does within the whole text ({@link #prefixEnd}):
     * a text far over the context costs a part of its encoding, and one of fewer than 8 characters per token of the
     * budget nothing. Text with no such place (one word of megabytes, CJK without punctuation) is counted in full.
     */
    public int tokensAtLeast(String text, int budget, boolean parseSpecialTokens) {
        for (long want = 4L * Math.max(1, budget); 2 * want <= text.length(); want *= 2) {
            int cut = prefixEnd(text, (int) want, parseSpecialTokens);
            if (cut < 0) {
                continue;
            }
            int count = ids(parseSpecialTokens ? full : plain, text.substring(0, cut)).length;
            if (count > (long) budget + PREFIX_MARGIN) {
                return count;
            }
        }
        return -1;
    }

    /**
     * The first index at or after {@code from} (within 4,096 chars) where text can be cut so that the part before
     * encodes (as {@link #encode encode(text, parseSpecialTokens)} does) to the first of the whole text's tokens: a
     * pre-token of the split pattern ends there ({@link #preTokenEnd}), and the text of no added token that the
     * encoding extracts before it splits (the special ones only with {@code parseSpecialTokens}) runs across it, nor
     * that of a {@code single_word} one ends at it. The whitespace an {@code lstrip} or {@code rstrip} token takes
     * in never reaches across: the character before the cut is no whitespace. -1 where there is none.
     */
    int prefixEnd(String text, int from, boolean parseSpecialTokens) {
        AddedTexts added = parseSpecialTokens ? fullAdded : plainAdded;
        int limit = from + 4096;
        for (int cut = preTokenEnd(text, from); cut >= 0 && cut < limit; cut = preTokenEnd(text, cut + 1)) {
            if (!added.across(text, cut)) {
                return cut;
            }
        }
        return -1;
    }

    /**
     * The first index at or after {@code from} (within 4,096 chars) where a pre-token of the Llama 3 split pattern
     * always ends: a space after a letter, an ASCII digit or ASCII punctuation; an ASCII character other than a
     * letter after a letter, or other than a digit after an ASCII digit (no alternative of the pattern runs a
     * letter, or a digit, into such a character). The character before it is never whitespace. -1 where there is
     * none.
     */
    static int preTokenEnd(String text, int from) {
        int end = Math.min(text.length() - 1, from + 4096);
        for (int i = Math.max(1, from); i < end; i++) {
            char c = text.charAt(i);
            int before = text.codePointBefore(i);
            boolean letter = Character.isLetter(before);
            boolean digit = before >= '0' && before <= '9';
            if (c == ' ') {
                boolean asciiPunctuation = before < 128 && before > ' ' && !Character.isLetterOrDigit(before);
                if (letter || digit || asciiPunctuation) {
                    return i;
                }
            } else if (c < 128 && ((letter && !Character.isLetter(c)) || (digit && (c < '0' || c > '9')))) {
                return i;
            }
        }
        return -1;
    }

    /** The control tokens of the Llama 3.1 format. */
    public SpecialTokens specialTokens() {
        return specialTokens;
    }

    /** tokenizer_config.json's {@code eos_token} as an added token's id (Llama 3.1 Instruct: {@code <|eot_id|>}). */
    public Optional<Integer> eosTokenId() {
        return Optional.ofNullable(eosTokenId);
    }

    /**
     * A token as the vocabulary spells it, as transformers' {@code convert_ids_to_tokens} gives it (vLLM's
     * {@code /tokenize} {@code token_strs}): an added token's text, else its bytes in the byte-level alphabet
     * ({@code "Ġworld"}).
     */
    public String tokenString(int id) {
        if (id < 0 || id >= tokenBytes.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary");
        }
        String added = new String(tokenBytes[id], StandardCharsets.UTF_8);
        return addedTokenIds.getOrDefault(added, -1) == id ? added : ByteLevelAlphabet.spell(tokenBytes[id]);
    }

    /** The id of an added token by its text. */
    public Optional<Integer> addedTokenId(String text) {
        return Optional.ofNullable(addedTokenIds.get(text));
    }

    /** The text of every special token, sorted. */
    public List<String> specialTokenTexts() {
        return specialTokenTexts;
    }

    /** The first special-token text found in {@code text}, if any. */
    public Optional<String> findSpecialTokenText(String text) {
        if (text.indexOf('<') < 0) {
            return Optional.empty();
        }
        for (String s : specialTokenTexts) {
            if (text.contains(s)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /** Ids 0..vocabSize()-1 are known to the tokenizer. */
    public int vocabSize() {
        return tokenBytes.length;
    }

    /** The checkpoint's chat template (tokenizer_config.json or chat_template.jinja), if it has one. */
    public Optional<String> chatTemplate() {
        return Optional.ofNullable(chatTemplate);
    }

    @Override
    public byte[] tokenBytes(int id) {
        checkId(id);
        return tokenBytes[id].clone();
    }

    @Override
    public boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            checkId(id);
            if (!(skipSpecialTokens && special[id])) {
                out.writeBytes(tokenBytes[id]);
            }
        }
        return Utf8Accumulator.decodeLossy(out);
    }

    @Override
    public IncrementalDecoder newDecoder() {
        return new IncrementalDecoder() {
            private final Utf8Accumulator pending = new Utf8Accumulator();

            @Override
            public String next(int tokenId) {
                checkId(tokenId);
                if (special[tokenId]) {
                    return "";
                }
                pending.append(tokenBytes[tokenId]);
                return pending.drain();
            }

            @Override
            public String flush() {
                return pending.flush();
            }
        };
    }

    /** Byte length of each token's text, without copying. */
    int tokenByteLength(int id) {
        checkId(id);
        return tokenBytes[id].length;
    }

    private void checkId(int id) {
        if (id < 0 || id >= tokenBytes.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.." + (tokenBytes.length - 1) + ")");
        }
    }

    @Override
    public void close() {
        full.close();
        plain.close();
    }
}
