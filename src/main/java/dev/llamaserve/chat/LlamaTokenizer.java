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
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The checkpoint's Hugging Face tokenizer (DJL's binding of the Rust {@code tokenizers}) plus the
 * byte-level vocabulary for decoding.
 *
 * <p>Two DJL tokenizers are built from the same {@code tokenizer.json}: the full one, which turns
 * special-token text such as {@code <|eot_id|>} into its control id, and a plain one with the added
 * tokens removed, which encodes any text as ordinary byte-level tokens. Text that comes from a
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
    private final byte[][] tokenBytes;
    private final boolean[] special;
    private final Map<String, Integer> addedTokenIds;
    private final List<String> specialTokenTexts;
    private final SpecialTokens specialTokens;
    private final String chatTemplate;
    private final Integer eosTokenId;

    private LlamaTokenizer(HuggingFaceTokenizer full, HuggingFaceTokenizer plain, byte[][] tokenBytes,
            boolean[] special, Map<String, Integer> addedTokenIds, List<String> specialTokenTexts,
            SpecialTokens specialTokens, String chatTemplate, Integer eosTokenId) {
        this.full = full;
        this.plain = plain;
        this.tokenBytes = tokenBytes;
        this.special = special;
        this.addedTokenIds = addedTokenIds;
        this.specialTokenTexts = specialTokenTexts;
        this.specialTokens = specialTokens;
        this.chatTemplate = chatTemplate;
        this.eosTokenId = eosTokenId;
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
            for (JsonNode t : tokenizer.path("added_tokens").values()) {
                added.put(t.path("content").asString(), t.path("id").intValue());
                addedSpecial.put(t.path("id").intValue(), t.path("special").booleanValue(true));
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

            ObjectNode plainJson = (ObjectNode) tokenizer.deepCopy();
            plainJson.putArray("added_tokens");
            plainJson.putNull("post_processor");
            HuggingFaceTokenizer full = HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(tokenizerBytes), DJL_OPTIONS);
            HuggingFaceTokenizer plain = HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(JSON.writeValueAsBytes(plainJson)), DJL_OPTIONS);
            specialTexts.sort(null);
            return new LlamaTokenizer(full, plain, bytes, special, Map.copyOf(added),
                    Collections.unmodifiableList(specialTexts), specials, readChatTemplate(config, modelDir),
                    added.get(tokenText(config.get("eos_token"), "")));
        } catch (IOException e) {
            // the exception's class says what went wrong (NoSuchFileException, AccessDeniedException): its message
            // is often only the path
            throw new TokenizerLoadException("cannot read the tokenizer in " + modelDir + ": " + e, e);
        }
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
     * Encodes text without adding {@code <|begin_of_text|>}.
     *
     * @param parseSpecialTokens true: special-token text becomes its control id (for template
     *     structure and raw completion prompts); false: all text is ordinary text (for request text)
     */
    public int[] encode(String text, boolean parseSpecialTokens) {
        if (text.isEmpty()) {
            return new int[0];
        }
        long[] ids = ids(parseSpecialTokens ? full : plain, text);
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
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
     * half the text, are encoded, each cut where a pre-token of the Llama 3 split pattern ends
     * ({@link #preTokenEnd}), so that it encodes as it does within the whole text: a text far over the context
     * costs a part of its encoding, and one of fewer than 8 characters per token of the budget nothing. Text with
     * no such place (one word of megabytes, CJK without punctuation) is counted in full.
     */
    public int tokensAtLeast(String text, int budget, boolean parseSpecialTokens) {
        for (long want = 4L * Math.max(1, budget); 2 * want <= text.length(); want *= 2) {
            int cut = preTokenEnd(text, (int) want, parseSpecialTokens);
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
     * The first index at or after {@code from} (within 4,096 chars) where a pre-token of the Llama 3 split pattern
     * always ends: a space after a letter, an ASCII digit or ASCII punctuation; and, unless {@code strict}, an
     * ASCII character other than a letter after a letter, or other than a digit after an ASCII digit (no
     * alternative of the pattern runs a letter, or a digit, into such a character). {@code strict} is for text
     * whose special-token text is parsed, which has letters before {@code |} and {@code _} but never a space. -1
     * where there is none.
     */
    static int preTokenEnd(String text, int from, boolean strict) {
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
            } else if (!strict && c < 128 && ((letter && !Character.isLetter(c)) || (digit && (c < '0' || c > '9')))) {
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
