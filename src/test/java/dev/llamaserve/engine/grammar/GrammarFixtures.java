package dev.llamaserve.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.chat.SpecialTokens;
import dev.llamaserve.engine.sampling.Sampler;
import dev.llamaserve.engine.sampling.SamplerWorkspace;
import dev.llamaserve.engine.sampling.SamplingConfig;
import java.io.ByteArrayOutputStream;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import tools.jackson.databind.JsonNode;

/**
 * Shared test fixtures: the tiny Llama 3.1 tokenizer's real byte-level vocabulary (through the adapter
 * the engine will use), an independent validator (networknt, format assertions on), and a "random
 * model" that samples among the allowed tokens only.
 */
final class GrammarFixtures {

    private static TokenMasker masker;
    private static int[] eos;
    private static TokenVocabulary vocab;

    private GrammarFixtures() {}

    static synchronized TokenMasker masker() {
        if (masker == null) {
            try {
                Path dir = Path.of(GrammarFixtures.class.getResource("/fixtures/tiny-llama31").toURI());
                try (LlamaTokenizer tok = LlamaTokenizer.load(dir)) {
                    vocab = TokenVocabulary.of(tok, tok.vocabSize());
                    eos = new int[] {tok.addedTokenId(SpecialTokens.END_OF_TURN).orElseThrow(),
                            tok.addedTokenId(SpecialTokens.END_OF_TEXT).orElseThrow()};
                    Arrays.sort(eos);
                }
            } catch (URISyntaxException e) {
                throw new IllegalStateException(e);
            }
            masker = new TokenMasker(new TokenTrie(vocab), eos, 4096);
        }
        return masker;
    }

    /** Whether {@code g} accepts all of {@code doc} as a whole document. */
    static boolean accepts(Grammar g, String doc) {
        GrammarState s = g.initialState().advance(doc.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return s != null && s.isComplete();
    }

    static TokenVocabulary vocab() {
        masker();
        return vocab;
    }

    static int[] eos() {
        masker();
        return eos.clone();
    }

    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

    /** Validation errors of {@code json} against {@code schema} (empty: valid). */
    static List<Error> validate(JsonNode schema, String json) {
        Schema s = REGISTRY.getSchema(schema);
        return s.validate(json, InputFormat.JSON, ctx -> ctx.executionConfig(c -> c.formatAssertionsEnabled(true)));
    }

    private static final java.util.Set<String> BOUNDS =
            java.util.Set.of("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum");

    /**
     * A copy of {@code root} less the keywords at {@code pointers} (a relaxed compilation's {@code leftOut}), the
     * schema the relaxed grammar's documents must be valid against (the tests' oracle): a {@code oneOf} becomes
     * {@code anyOf}, a number bound goes with the other three; a pointer that names no keyword of a schema object
     * (any longer) is passed over. The last pointers go first, so that a keyword inside a {@code oneOf} goes before
     * the oneOf is renamed.
     */
    static JsonNode without(JsonNode root, List<String> pointers) {
        JsonNode copy = root.deepCopy();
        for (int i = pointers.size() - 1; i >= 0; i--) {
            String pointer = pointers.get(i);
            int slash = pointer.lastIndexOf('/');
            JsonNode parent = slash < 0 ? null : Keywords.at(copy, pointer.substring(0, slash));
            String key = pointer.substring(slash + 1).replace("~1", "/").replace("~0", "~");
            if (!(parent instanceof tools.jackson.databind.node.ObjectNode o) || !o.has(key)) {
                continue;
            }
            if (key.equals("oneOf")) {
                o.set("anyOf", o.remove("oneOf"));
            } else if (BOUNDS.contains(key)) {
                BOUNDS.forEach(o::remove);
            } else {
                o.remove(key);
            }
        }
        return copy;
    }

    enum Mode { UNIFORM, GAUSSIAN, CLOSING }

    /** One generated sequence: its bytes, whether it ended with EOS, and the matcher at the end. */
    record Output(byte[] bytes, boolean ended, GrammarMatcher matcher) {
        String text() {
            return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /**
     * Samples until EOS or {@code maxTokens}: UNIFORM picks uniformly among the allowed tokens (EOS, when
     * allowed, half of the time); GAUSSIAN draws random logits and samples through the engine's
     * {@link Sampler} with the mask hook at temperature 1; CLOSING adds a bias to tokens that contain
     * closing bytes, to finish more documents. Checks at every step that EOS is allowed exactly when
     * the document is complete and that something is allowed.
     */
    static Output generate(Grammar grammar, long seed, Mode mode, int maxTokens) {
        return generate(masker().matcher(grammar), new byte[0], seed, mode, maxTokens);
    }

    /** Continues a cut output (its matcher goes on from where it stopped). */
    static Output resume(Output cut, long seed, Mode mode, int maxTokens) {
        return generate(cut.matcher(), cut.bytes(), seed, mode, maxTokens);
    }

    private static Output generate(GrammarMatcher matcher, byte[] prefix, long seed, Mode mode, int maxTokens) {
        TokenVocabulary v = vocab();
        SplittableRandom random = new SplittableRandom(seed);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(prefix);
        Sampler sampler = new Sampler(new SamplingConfig(1.0, 1.0, 0, 0.0, seed, 0, 0, 1.0, new int[0], new float[0],
                maxTokens, 0, false, eos.clone(), List.of(), -1), new int[0]);
        SamplerWorkspace ws = new SamplerWorkspace(v.size());
        float[] logits = new float[v.size()];
        for (int step = 0; step < maxTokens; step++) {
            long[] allowed = matcher.allowedTokens();
            boolean complete = matcher.isComplete();
            for (int e : eos) {
                assertThat((allowed[e >>> 6] & (1L << e)) != 0).as("EOS allowed iff complete").isEqualTo(complete);
            }
            int count = 0;
            for (long w : allowed) {
                count += Long.bitCount(w);
            }
            assertThat(count).as("some token is allowed after %s", out).isPositive();
            int token;
            if (mode == Mode.UNIFORM) {
                if (complete && random.nextBoolean()) {
                    token = eos[0];
                } else {
                    token = nthSetBit(allowed, random.nextInt(count));
                }
            } else {
                for (int i = 0; i < logits.length; i++) {
                    logits[i] = (float) (gaussian(random) * 2);
                    if (mode == Mode.CLOSING && closes(v.tokenBytes(i))) {
                        logits[i] += 5;
                    }
                }
                for (int e : eos) {
                    logits[e] += mode == Mode.CLOSING ? 8 : 2;
                }
                token = sampler.sample(logits, 0, logits.length, ws, allowed).token();
            }
            assertThat(matcher.accept(token)).as("sampled token %s allowed", token).isTrue();
            if (matcher.isEnded()) {
                return new Output(out.toByteArray(), true, matcher);
            }
            out.writeBytes(v.tokenBytes(token));
        }
        return new Output(out.toByteArray(), false, matcher);
    }

    private static boolean closes(byte[] b) {
        for (byte x : b) {
            if (x == '"' || x == '}' || x == ']') {
                return true;
            }
        }
        return false;
    }

    private static double gaussian(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }

    static int nthSetBit(long[] bits, int n) {
        for (int w = 0; w < bits.length; w++) {
            int c = Long.bitCount(bits[w]);
            if (n < c) {
                long x = bits[w];
                for (int k = 0; k < n; k++) {
                    x &= x - 1;
                }
                return w * 64 + Long.numberOfTrailingZeros(x);
            }
            n -= c;
        }
        throw new IllegalArgumentException("fewer set bits than " + n);
    }
}
