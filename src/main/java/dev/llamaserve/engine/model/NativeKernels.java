package dev.llamaserve.engine.model;

import ai.djl.engine.Engine;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * llama-serve's own CPU kernels ({@code src/main/native/llamaserve_ops.c} and its parts in {@code llamaserve_ops/}:
 * few-row bf16 and blocked-int8 linears, int8 quantization and widening, decode attention, RMSNorm): a library built
 * by Maven with gcc on Linux x86-64 and shipped on the class path, which registers its {@code llamaserve::} ops with
 * libtorch's dispatcher when it is loaded. It is loaded after DJL's libtorch (it binds to that {@code
 * libtorch_cpu.so}) and before the step script is compiled (the script names the ops). Where the library is absent
 * (built without gcc, another OS), fails to load, or is switched off ({@code -Dllamaserve.nativeKernels=false}), the
 * step script is compiled with stand-ins that call libtorch's kernels ({@code llama_native_absent.py}) and the model
 * never selects them.
 */
public final class NativeKernels {

    private static final Logger log = LoggerFactory.getLogger(NativeKernels.class);
    static final String LIBRARY = "/dev/llamaserve/engine/model/native/libllamaserve_ops.so";
    /** The step script's {@code native_*} methods, calling the ops. */
    static final String SCRIPT = "/dev/llamaserve/engine/model/llama_native.py";
    /** The same methods through libtorch's kernels, where the library is not loaded. */
    static final String SCRIPT_ABSENT = "/dev/llamaserve/engine/model/llama_native_absent.py";
    static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("llamaserve.nativeKernels", "true"));
    /** {@link #isa}'s argument that selects the best instruction set this CPU has (each load does by default). */
    static final long BEST = -2;
    /**
     * The instruction set each load asks for ({@link #loadIsa}, {@link #loadAvx512f}): {@code best} (the default),
     * {@code avx2} to run only the AVX2 bodies on a CPU with AVX-512, so that the bench measures the path of CPUs
     * without it (README "Bench": the AVX2 path on an AVX-512 machine), or {@code avx512f} to run the AVX2 bodies with
     * the bf16 and int8 linears on AVX-512F (the path of CPUs with AVX-512 but not its BF16 instructions, e.g. Ice
     * Lake servers) on a CPU with AVX-512 BF16.
     */
    static final String ISA_PROPERTY = "llamaserve.nativeIsa";

    /** The instruction sets {@code llamaserve::isa} reports. */
    public enum Isa {
        NONE, AVX2, AVX512_BF16;

        static Isa of(long code) {
            return code >= 0 && code < values().length ? values()[(int) code] : NONE;
        }
    }

    /** {@link #isa}'s argument for a model load: {@link #ISA_PROPERTY}'s, read now ({@link #loadIsa(String)}). */
    static long loadIsa() {
        return loadIsa(System.getProperty(ISA_PROPERTY, "best"));
    }

    /**
     * {@link #isa}'s argument for a load from {@link #ISA_PROPERTY}'s value: {@link #BEST}, or {@link Isa#AVX2}'s code
     * (a CPU without AVX2 keeps what it has: {@link #isa} forces only an instruction set the CPU offers).
     */
    static long loadIsa(String value) {
        return switch (value.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "best" -> BEST;
            case "avx2", "avx512f" -> Isa.AVX2.ordinal();
            default -> throw new IllegalArgumentException("-D" + ISA_PROPERTY + "=" + value
                    + ": expected best, avx2 or avx512f");
        };
    }

    /**
     * {@link #avx512fLinear}'s argument for a model load from {@link #ISA_PROPERTY}'s value, read now: 0 for
     * {@code avx2}, else 1 (the AVX-512F body where the CPU has it).
     */
    static long loadAvx512f() {
        return loadAvx512f(System.getProperty(ISA_PROPERTY, "best"));
    }

    static long loadAvx512f(String value) {
        loadIsa(value);   // the same values, refused alike
        return value.trim().equalsIgnoreCase("avx2") ? 0 : 1;
    }

    private static Boolean loaded;
    private static volatile boolean useInLoads = true;
    private static volatile boolean amxInLoads = true;
    private static String why = "not loaded yet";

    private NativeKernels() {
    }

    /**
     * Loads the library once per process (later calls return the first answer), after DJL's libtorch, whose
     * {@code libtorch_cpu.so} it binds to (loaded first by this call if nothing has loaded it yet: before, a first
     * call ahead of any model failed with "libtorch_cpu.so: cannot open shared object file", for the process).
     */
    static synchronized boolean load() {
        if (loaded != null) {
            return loaded;
        }
        loaded = false;
        if (!ENABLED) {
            why = "switched off (-Dllamaserve.nativeKernels=false)";
            return false;
        }
        Engine.getEngine("PyTorch");   // loads libtorch, if nothing has yet
        try (InputStream in = NativeKernels.class.getResourceAsStream(LIBRARY)) {
            if (in == null) {
                why = "not built (the build had no gcc, or is not Linux x86-64)";
                return false;
            }
            Path file = Files.createTempFile("libllamaserve_ops-", ".so");
            try {
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                System.load(file.toAbsolutePath().toString());
            } finally {
                Files.deleteIfExists(file);   // a loaded library stays mapped
            }
            loaded = true;
            why = "loaded";
        } catch (IOException | UnsatisfiedLinkError | SecurityException e) {
            why = "failed to load: " + e.getMessage();
            log.warn("llama-serve's native kernels {}; libtorch's kernels are used", why);
        }
        return loaded;
    }

    /** Whether models loaded from now on use the kernels where they are loaded (tests compare with and without). */
    static boolean useInLoads() {
        return useInLoads;
    }

    /** Tests: models loaded after this call use the kernels ({@code true}, the default) or libtorch's only. */
    static void useInLoads(boolean use) {
        useInLoads = use;
    }

    static boolean amxInLoads() {
        return amxInLoads;
    }

    /** Tests: models loaded after this call take AMX tiles where the CPU has them ({@code true}, the default). */
    static void amxInLoads(boolean use) {
        amxInLoads = use;
    }

    /**
     * Whether every weight {@code quantization} makes int8 fits the blocked layout of {@code linear_int8}: [out, in]
     * with out a multiple of 4 and in a multiple of 32 (true of every Llama shape; with tied embeddings an int8
     * lm_head has embed_tokens' shape).
     */
    static boolean blocksInt8(ModelConfig config, Quantization quantization) {
        return blocksInt8(config, quantization, 4);
    }

    /** As {@link #blocksInt8(ModelConfig, Quantization)}, with out a multiple of {@code outs} (AMX tiles: 16). */
    static boolean blocksInt8(ModelConfig config, Quantization quantization, int outs) {
        for (Map.Entry<String, long[]> e : config.tensorShapes().entrySet()) {
            String name = e.getKey();
            boolean lmHead = name.equals(LlamaModel.LM_HEAD)
                    || (config.tieWordEmbeddings() && name.equals(LlamaModel.EMBED_TOKENS));
            boolean quantized = lmHead ? quantization.quantizes(LlamaModel.LM_HEAD) : quantization.quantizes(name);
            long[] shape = e.getValue();
            if (quantized && (shape.length != 2 || shape[0] % outs != 0 || shape[1] % 32 != 0)) {
                return false;
            }
        }
        return true;
    }

    /** Elements of the bf16 scratch that holds the largest quantized layer weight widened (prefill, mode 7). */
    static long widenScratchElements(ModelConfig config) {
        long most = 0;
        for (Map.Entry<String, long[]> e : config.tensorShapes().entrySet()) {
            long[] shape = e.getValue();
            if (e.getKey().startsWith("model.layers.") && shape.length == 2) {
                most = Math.max(most, shape[0] * shape[1]);
            }
        }
        return most;
    }

    /** Why the library is or is not loaded, for the load log. */
    static synchronized String status() {
        return why;
    }

    /** The step script's class source: {@link #SCRIPT} where the library is loaded, else {@link #SCRIPT_ABSENT}. */
    static String scriptResource() {
        return load() ? SCRIPT : SCRIPT_ABSENT;
    }

    /**
     * The instruction set the kernels run with in this process, one setting for all models ({@code force >= 0}:
     * choose one the CPU has, for tests; {@link #BEST}: the best; {@code -1}: only ask). {@link Isa#NONE} where
     * the library is not loaded.
     */
    static Isa isa(PtSymbolBlock module, long force) {
        try (IValue r = IValueUtils.runMethod(module, "native_isa", IValue.from(force))) {
            return Isa.of(r.toLong());
        }
    }

    /** The bodies of {@code decode_attention} ({@code llamaserve::attention_body}'s answers, in order). */
    enum AttentionBody {
        /** the kernel does not take the shape (or no instruction set): the script attends */
        NONE,
        /** any shape within the kernel's limits (16 query heads per KV head, head dim 256) */
        GENERIC,
        /** query heads in register tiles of 4; a prefill chunk's rows in tiles that read each chunk of keys once */
        TILED
    }

    /**
     * The body {@code decode_attention} takes for {@code group} query heads per KV head of {@code headDim} on the
     * instruction set in use: the library's rule, asked here so that it lives in one place. {@link AttentionBody#NONE}
     * where the library is not loaded.
     */
    static AttentionBody attentionBody(PtSymbolBlock module, int group, int headDim) {
        try (IValue g = IValue.from((long) group); IValue d = IValue.from((long) headDim);
                IValue r = IValueUtils.runMethod(module, "native_attention_body", g, d)) {
            long code = r.toLong();
            return code >= 0 && code < AttentionBody.values().length ? AttentionBody.values()[(int) code]
                    : AttentionBody.NONE;
        }
    }

    /**
     * Whether {@code silu_mul} can run with the instruction set in use: it calls the SLEEF exp that ATen's bf16 silu
     * calls on that ISA ({@code Sleef_expf16_u10} on AVX-512, {@code Sleef_expf8_u10} on AVX2), looked up in the
     * libtorch this process loaded, so that its values are torch's bit for bit. False where the library is not loaded.
     */
    static boolean siluReady(PtSymbolBlock module) {
        try (IValue r = IValueUtils.runMethod(module, "native_silu_ready")) {
            return r.toBoolean();
        }
    }

    /**
     * Whether {@code linear_w8a8} (W8A8, {@code llm.model.quantization=w8a8}) can run: the CPU has AVX-512 VNNI (with
     * BF16 or without: Ice Lake and Cascade Lake servers have no BF16) and an instruction set is in use. False where
     * the library is not loaded.
     */
    static boolean w8a8Ready(PtSymbolBlock module) {
        try (IValue r = IValueUtils.runMethod(module, "native_w8a8_ready")) {
            return r.toBoolean();
        }
    }

    /**
     * Whether {@code linear_int8} runs on AMX tiles (with AVX-512 BF16 in use), one setting for all models:
     * {@code force} 1 turns them on where the CPU has AMX-BF16 and Linux grants the process their state, 0 off,
     * -1 only asks. False where the library is not loaded.
     */
    static boolean amx(PtSymbolBlock module, long force) {
        try (IValue r = IValueUtils.runMethod(module, "native_amx", IValue.from(force))) {
            return r.toLong() == 1;
        }
    }

    /**
     * Whether {@code linear_bf16}, {@code linear_int8}, {@code rms_norm}, {@code silu_mul} and {@code rope_kv} with
     * the AVX2 instruction set in use run on their 16-lane bodies (CPUs with AVX-512 F/BW/VL/DQ, the default there)
     * rather than their AVX2 ones, one setting for all models: {@code force} 1 turns it on where the CPU has
     * AVX-512F, 0 off, -1 only asks. False where the library is not loaded.
     */
    static boolean avx512fLinear(PtSymbolBlock module, long force) {
        try (IValue r = IValueUtils.runMethod(module, "native_avx512f", IValue.from(force))) {
            return r.toLong() == 1;
        }
    }

    /**
     * Whether the several-row kernels of {@code linear_bf16}, {@code linear_int8} and {@code linear_w8a8} (without
     * AMX) prefetch the next group's weights into L1 (true) or into L2, one setting for all models: by default L1
     * where the CPU's L1 data cache holds 48 KiB or more. {@code force} 1 or 0 switches (tests, benchmarks), -1 only
     * asks. False where the library is not loaded.
     */
    static boolean gemmPrefetchL1(PtSymbolBlock module, long force) {
        try (IValue r = IValueUtils.runMethod(module, "native_gemm_prefetch", IValue.from(force))) {
            return r.toLong() == 1;
        }
    }

    /**
     * Puts each distinct tensor of {@code weights} on 2 MiB pages where Linux allows ({@code huge_pages} in
     * llamaserve_ops.c: advised and collapsed, where not on them already). Returns the bytes now on them; -1 where
     * the host turned transparent huge pages off; 0 where the library is not loaded or no huge page could be had.
     */
    static long hugePages(PtSymbolBlock module, java.util.Collection<PtNDArray> weights) {
        long total = 0;
        java.util.Set<PtNDArray> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (PtNDArray w : weights) {
            if (!seen.add(w)) {
                continue;   // tied embeddings: lm_head is embed_tokens
            }
            try (IValue arg = IValue.from(w);
                 IValue r = IValueUtils.runMethod(module, "native_huge_pages", arg, IValue.from(true))) {
                long bytes = r.toLong();
                if (bytes < 0) {
                    return -1;
                }
                total += bytes;
            }
        }
        return total;
    }
}
