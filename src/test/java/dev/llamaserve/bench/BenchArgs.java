package dev.llamaserve.bench;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The bench's command line.
 *
 * @param shape {@code 1b} (Llama-3.2-1B shape, the default), {@code tiny} (a quick run) or {@code 8b} (Llama-3.1-8B's
 *              shape: 16 GB; meant for {@code --only int8})
 * @param dtype compute dtype option name ({@code bfloat16}, {@code float16}, {@code float32})
 * @param quantization weight quantization passed through as {@code llm.model.quantization} (null: none)
 * @param sections what to run, from {@link #SECTIONS}
 * @param soak requests of the soak run (0: none)
 * @param decodeTokens tokens each stream decodes in the decode and HTTP runs
 * @param longTokens prompt tokens of the long-context run
 * @param longShape the shape of the long-context run: {@code tiny} (the default) or {@code 1b} (the 1B's heads:
 *                  where the prefill's attention shows; {@code --long-tokens 8192} keeps it to a few minutes)
 * @param out where the JSON report goes
 * @param packedWeights {@code llm.model.packed-weights}: a oneDNN-packed copy of the linears for multi-row steps
 */
record BenchArgs(String shape, String dtype, String quantization, Set<String> sections, int soak, int decodeTokens,
        int longTokens, String longShape, Path out, boolean packedWeights) {

    /**
     * Sections of a full run, in the order they run; {@code soak} (HTTP) runs when {@code --soak N} asks for it,
     * {@code soak-engine} (the engine alone) with {@code --only soak-engine --soak N}.
     */
    static final List<String> SECTIONS = List.of("kernels", "decode", "ttft", "prefix", "grammar", "http", "int8", "quality", "long");

    static final String USAGE = """
            bench [--shape 1b|tiny|8b] [--dtype bf16|fp16|fp32] [--quantization int8] [--packed-weights true] [--only kernels,decode,ttft,prefix,grammar,http,int8,quality,long]
                  [--soak N] [--only soak-engine --soak N] [--decode-tokens N] [--long-tokens 32768] [--long-shape tiny|1b] [--out target/bench/bench.json]""";

    static BenchArgs parse(String... args) {
        String shape = "1b";
        String dtype = "bfloat16";
        String quantization = null;
        Set<String> sections = new LinkedHashSet<>(SECTIONS);
        int soak = 0;
        int decodeTokens = 32;
        int longTokens = 32_768;
        String longShape = "tiny";
        Path out = Path.of("target", "bench", "bench.json");
        boolean packedWeights = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.isBlank() || a.equals("true")) {   // "./mvnw test-compile -Dbench" passes "true"
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + " needs a value\n" + USAGE);
            }
            String v = args[++i].trim();
            switch (a) {
                case "--shape" -> shape = v;
                case "--dtype" -> dtype = dtype(v);
                case "--quantization" -> quantization = v.equals("none") ? null : v;
                case "--only" -> {
                    sections = new LinkedHashSet<>();
                    for (String s : v.split(",")) {
                        if (!SECTIONS.contains(s.trim()) && !s.trim().equals("soak") && !s.trim().equals("soak-engine")) {
                            throw new IllegalArgumentException("--only: unknown section " + s + "; known " + SECTIONS);
                        }
                        sections.add(s.trim());
                    }
                }
                case "--soak" -> soak = Integer.parseInt(v);
                case "--decode-tokens" -> decodeTokens = Integer.parseInt(v);
                case "--long-tokens" -> longTokens = Integer.parseInt(v);
                case "--long-shape" -> longShape = v;
                case "--out" -> out = Path.of(v);
                case "--packed-weights" -> packedWeights = switch (v) {
                    case "true" -> true;
                    case "false" -> false;
                    default -> throw new IllegalArgumentException("--packed-weights must be true or false, was " + v);
                };
                default -> throw new IllegalArgumentException("unknown option " + a + "\n" + USAGE);
            }
        }
        if (!shape.equals("1b") && !shape.equals("tiny") && !shape.equals("8b")) {
            throw new IllegalArgumentException("--shape must be 1b, tiny or 8b, was " + shape);
        }
        if (!longShape.equals("tiny") && !longShape.equals("1b")) {
            throw new IllegalArgumentException("--long-shape must be tiny or 1b, was " + longShape);
        }
        if (soak > 0 && !sections.contains("soak-engine")) {
            sections.add("soak");
        }
        return new BenchArgs(shape, dtype, quantization, Set.copyOf(sections), soak, decodeTokens, longTokens, longShape, out,
                packedWeights);
    }

    boolean runs(String section) {
        return sections.contains(section);
    }

    private static String dtype(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "bf16", "bfloat16" -> "bfloat16";
            case "fp16", "float16", "f16" -> "float16";
            case "fp32", "float32", "f32" -> "float32";
            default -> throw new IllegalArgumentException("--dtype must be bf16, fp16 or fp32, was " + v);
        };
    }
}
