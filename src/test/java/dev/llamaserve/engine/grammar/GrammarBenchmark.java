package dev.llamaserve.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Cost of constrained decoding on a Llama-3.1-sized vocabulary (128,256 ids): no real Llama 3
 * tokenizer is among the fixtures, so the vocabulary is the tiny fixture's 512 byte-level tokens plus
 * synthetic BPE-like tokens (words with and without a leading space, digit groups, punctuation and JSON
 * fragments, whitespace runs, multi-byte UTF-8 and partial UTF-8) up to 128,000, plus 256 control
 * tokens. Prints per-step mask time (uncached and through the cache) along random-model generations,
 * and schema compile time. {@code ./mvnw -Pbench test -Dtest=GrammarBenchmark}
 */
@Tag("bench")
class GrammarBenchmark {

    static byte[][] syntheticVocab() {
        TokenVocabulary tiny = GrammarFixtures.vocab();
        Set<String> seen = new LinkedHashSet<>();
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < 512; i++) {
            out.add(tiny.tokenBytes(i));
            seen.add(Arrays.toString(tiny.tokenBytes(i)));
        }
        SplittableRandom r = new SplittableRandom(42);
        String cons = "bcdfghjklmnprstvwxyz";
        String vow = "aeiouy";
        String punct = "{}[]\":,.!?;'()-_/\\<>=+*&%$#@";
        List<String> fixed = new ArrayList<>();
        for (int n = 0; n < 1000; n++) {
            fixed.add(Integer.toString(n));
            fixed.add(String.format("%03d", n));
        }
        for (int k = 1; k <= 16; k++) {
            fixed.add(" ".repeat(k));
            fixed.add("\n" + " ".repeat(k));
            fixed.add("\t".repeat(Math.min(k, 4)));
        }
        for (String s : List.of("\":\"", "\",\"", "{\"", "\"}", "\":", "\",", "},{", "\"]", "[\"", "\": \"", "\", \"",
                "\":[", "]}", "}]", "\n}", "\n]", "{\n", "\\n", "\\\"", "\\u")) {
            fixed.add(s);
        }
        List<byte[]> candidates = new ArrayList<>();
        fixed.forEach(s -> candidates.add(s.getBytes(StandardCharsets.UTF_8)));
        while (out.size() + candidates.size() < 128_000 * 2) {
            int kind = r.nextInt(100);
            String s;
            if (kind < 70) {
                StringBuilder w = new StringBuilder();
                int syll = 1 + r.nextInt(4);
                for (int k = 0; k < syll; k++) {
                    w.append(cons.charAt(r.nextInt(cons.length()))).append(vow.charAt(r.nextInt(vow.length())));
                    if (r.nextBoolean()) {
                        w.append(cons.charAt(r.nextInt(cons.length())));
                    }
                }
                s = w.toString();
                if (r.nextInt(5) == 0) {
                    s = Character.toUpperCase(s.charAt(0)) + s.substring(1);
                }
                if (r.nextBoolean()) {
                    s = " " + s;
                }
            } else if (kind < 80) {
                StringBuilder p = new StringBuilder(r.nextBoolean() ? " " : "");
                for (int k = 0, n = 1 + r.nextInt(3); k < n; k++) {
                    p.append(punct.charAt(r.nextInt(punct.length())));
                }
                s = p.toString();
            } else if (kind < 92) {
                StringBuilder u = new StringBuilder(r.nextInt(3) == 0 ? " " : "");
                for (int k = 0, n = 1 + r.nextInt(3); k < n; k++) {
                    u.appendCodePoint(r.nextBoolean() ? 0x4E00 + r.nextInt(0x5000) : 0xC0 + r.nextInt(0x180));
                }
                s = u.toString();
            } else {
                byte[] b = new byte[1 + r.nextInt(3)];
                for (int k = 0; k < b.length; k++) {
                    b[k] = (byte) (0x80 + r.nextInt(0x80));
                }
                candidates.add(b);
                continue;
            }
            candidates.add(s.getBytes(StandardCharsets.UTF_8));
        }
        for (byte[] c : candidates) {
            if (out.size() >= 128_000) {
                break;
            }
            if (seen.add(Arrays.toString(c))) {
                out.add(c);
            }
        }
        for (int i = 0; i < 256; i++) {
            out.add(new byte[0]); // control tokens
        }
        return out.toArray(byte[][]::new);
    }

    @Test
    void maskAndCompileCost() {
        byte[][] vocab = syntheticVocab();
        assertThat(vocab.length).isEqualTo(128_256);
        long t0 = System.nanoTime();
        TokenTrie trie = new TokenTrie(TokenVocabulary.of(vocab));
        System.out.printf("vocabulary %d ids, trie %d nodes built in %.0f ms%n", vocab.length, trie.nodeCount(),
                (System.nanoTime() - t0) / 1e6);
        int eos = 128_009;
        SchemaCompiler compiler = new SchemaCompiler(GrammarOptions.DEFAULT);
        List<String> names = List.of("person", "order", "object-50-properties", "ref-tree", "string", "pattern-classes",
                "long-maxLength", "map-of-arrays");
        for (JsonNode e : SchemaCorpusTest.corpus()) {
            if (names.contains(e.get("name").asString())) {
                measure(e.get("name").asString(), compiler.compile(e.get("schema")), trie, eos);
            }
        }
        measure("json_object", compiler.jsonObject(), trie, eos);
        // As the engine runs it: one masker (cache of 2,048 masks = 32 MiB at 128k ids) for all sequences.
        TokenMasker shared = new TokenMasker(trie, new int[] {eos}, 2048);
        for (JsonNode e : SchemaCorpusTest.corpus()) {
            if (names.contains(e.get("name").asString())) {
                streams(e.get("name").asString(), compiler.compile(e.get("schema")), shared, eos, 16);
            }
        }

        JsonNode fifty = SchemaCorpusTest.corpus().stream().filter(e -> e.get("name").asString().equals("object-50-properties"))
                .findFirst().orElseThrow().get("schema");
        for (int i = 0; i < 20; i++) {
            compiler.compile(fifty); // warm-up
        }
        int n = 50;
        long c0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            compiler.compile(fifty);
        }
        System.out.printf("compile 50-property schema: %.2f ms (mean of %d, warm); cached lookup: %.3f ms%n",
                (System.nanoTime() - c0) / 1e6 / n, n, cachedLookup(compiler, fifty));
    }

    private static double cachedLookup(SchemaCompiler compiler, JsonNode schema) {
        compiler.compileCached(schema);
        long t = System.nanoTime();
        for (int i = 0; i < 100; i++) {
            compiler.compileCached(schema);
        }
        return (System.nanoTime() - t) / 1e6 / 100;
    }

    /**
     * {@code n} sequences decoded in lockstep through one shared masker, as the engine's batch: the mask
     * lookups of a step for all of them (a finished sequence is replaced by a new one), per token per sequence
     * and per step; divide the latter by the decode step time at {@code n} streams for the grammar's share.
     */
    private static void streams(String name, Grammar g, TokenMasker masker, int eos, int n) {
        GrammarMatcher[] ms = new GrammarMatcher[n];
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < n; i++) {
            ms[i] = masker.matcher(g);
        }
        int steps = 300;
        long total = 0;
        long[] perStep = new long[steps];
        for (int step = 0; step < steps; step++) {
            for (int i = 0; i < n; i++) {
                long a = System.nanoTime();
                long[] mask = ms[i].allowedTokens();
                long dt = System.nanoTime() - a;
                total += dt;
                perStep[step] += dt;
                int count = 0;
                for (long w : mask) {
                    count += Long.bitCount(w);
                }
                boolean end = ms[i].isComplete() && r.nextInt(3) == 0;
                ms[i].accept(end ? eos : GrammarFixtures.nthSetBit(mask, r.nextInt(count)));
                if (ms[i].isEnded()) {
                    ms[i] = masker.matcher(g);
                }
            }
        }
        Arrays.sort(perStep);
        System.out.printf("%-22s %d streams: mask %7.1f us per token per sequence; per step (all %d): mean %6.2f ms"
                        + "  p99 %6.2f ms%n", name, n, total / 1e3 / steps / n, n, total / 1e6 / steps,
                perStep[(int) (steps * 0.99)] / 1e6);
    }

    /** Generates with uniformly random choices among allowed tokens, timing the mask at each step. */
    private static void measure(String name, Grammar g, TokenTrie trie, int eos) {
        TokenMasker masker = new TokenMasker(trie, new int[] {eos}, 1024);
        List<Long> uncached = new ArrayList<>();
        long cachedTotal = 0;
        int steps = 0;
        for (long seed = 0; seed < 6; seed++) {
            SplittableRandom r = new SplittableRandom(seed);
            GrammarMatcher m = masker.matcher(g);
            for (int step = 0; step < 200 && !m.isEnded(); step++) {
                long a = System.nanoTime();
                masker.compute(m.state());
                uncached.add(System.nanoTime() - a);
                long b = System.nanoTime();
                long[] mask = m.allowedTokens();
                cachedTotal += System.nanoTime() - b;
                steps++;
                int count = 0;
                for (long w : mask) {
                    count += Long.bitCount(w);
                }
                boolean end = m.isComplete() && r.nextInt(3) == 0;
                int token = end ? eos : GrammarFixtures.nthSetBit(mask, r.nextInt(count));
                m.accept(token);
            }
        }
        long[] u = uncached.stream().mapToLong(Long::longValue).sorted().toArray();
        System.out.printf("%-22s steps %4d  uncached mask: mean %6.2f ms  p50 %6.2f  p99 %6.2f  max %6.2f"
                        + "  | with cache: mean %6.2f ms/step%n", name, steps,
                Arrays.stream(u).average().orElse(0) / 1e6, u[u.length / 2] / 1e6, u[(int) (u.length * 0.99)] / 1e6,
                u[u.length - 1] / 1e6, cachedTotal / 1e6 / steps);
    }
}
