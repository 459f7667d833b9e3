package dev.llamaserve.engine.model;

/**
 * The JVM system properties ({@code -Dllamaserve.*}) that pick {@link LlamaModel}'s CPU kernels, read once when this
 * class is first used. They are meant for A/B measurements; the defaults are what the measurements chose (README,
 * "Native CPU kernels"; docs/native-cpu-kernels.md).
 */
final class CpuKernelSwitches {

    private CpuKernelSwitches() {}

    /**
     * On the CPU, float16 {@code linear} has a fast GEMV for one row but grows linearly with rows; from this many
     * rows a float16 step multiplies in float32, widening each weight to a new float32 copy (the 1B shape's 2.47 GB
     * become 4.9 GB a step, about a million page faults). {@code StepProfileBenchmark -Dbench.dtype=float16}, decode
     * steps at 128 context on a Zen 4 (2 cores; AVX-512, and the same with the AVX2 settings), as is against widened:
     * 16 rows 0.90 against 2.17 s, 32 rows 1.73 against 2.52 (AVX2 1.72 against 2.20), 48 rows 2.56 against 2.73, 56
     * rows 2.96-2.97 against 2.87-2.92, 64 rows 3.38 against 2.72, a 512-token prefill chunk 21.6 against 7.8 s.
     * It was 16 until then, from a measurement that predates the step's other changes (fp16 8 rows ≈ fp32 8 rows).
     * bf16 is as fast for one row and several times faster for more (README, "CPU and dtype").
     */
    static final int CPU_FP16_UPCAST_ROWS = Integer.getInteger("llamaserve.cpuFp16UpcastRows", 56);
    /** On the CPU, a one-row bfloat16 linear runs as two rows: libtorch's bf16 GEMV path is slower than its GEMM. */
    static final boolean CPU_BF16_PAD_SINGLE_ROW =
            Boolean.parseBoolean(System.getProperty("llamaserve.cpuBf16PadSingleRow", "true"));
    /**
     * A one-row bfloat16 linear on the CPU calls oneDNN's linear ({@code mkldnn::_linear_pointwise}) instead of
     * padding to two rows, on CPUs with native bf16 dot products ({@code avx512_bf16} or {@code amx_bf16} in
     * {@code /proc/cpuinfo}; oneDNN refuses bf16 on plain AVX2). Measured with {@code LlamaModelBenchmark}'s
     * mode comparison on the 1B shape (Zen 4, 2 cores, shared machine, interleaved step by step, 9 each):
     * decode step 99 ms median (oneDNN) vs 169 ms (padded) vs 227 ms (as is).
     * {@code -Dllamaserve.cpuBf16OneDnnSingleRow=true|false} overrides the detection.
     */
    static final boolean CPU_BF16_ONEDNN_SINGLE_ROW = Boolean.parseBoolean(
            System.getProperty("llamaserve.cpuBf16OneDnnSingleRow", Boolean.toString(CpuFeatures.hasNativeBf16())));

    /**
     * On the CPU in bfloat16, int8 weights go through {@code torch._weight_int8pack_mm} (reads 1 byte per weight)
     * up to this many rows, and are widened to bf16 for the GEMM above (prefill), where the AVX-512 bf16 GEMM
     * beats the int8 kernel, whose cost grows with the rows (see Int8KernelBenchmark).
     */
    static final int CPU_INT8_PACK_MAX_ROWS = Integer.getInteger("llamaserve.cpuInt8PackMaxRows", 64);

    /**
     * On the CPU in bfloat16 with int8 weights, where llama-serve's native kernels are loaded ({@link NativeKernels}),
     * steps of at most this many rows multiply through {@code llamaserve::linear_int8} on the blocked int8 weights;
     * larger ones (prefill) widen each weight into {@link LlamaModel#INT8_WIDEN_SCRATCH}
     * ({@code llamaserve::widen_int8}) for oneDNN's bf16 GEMM: measured with {@code Int8KernelBenchmark}
     * (docs/native-cpu-kernels.md).
     */
    static final int CPU_NATIVE_INT8_MAX_ROWS = Integer.getInteger("llamaserve.cpuNativeInt8MaxRows", 64);
    /**
     * Where the CPU has AMX-BF16, {@code linear_bf16} and {@code linear_int8} multiply on AMX tiles (see
     * llamaserve_ops/linear_amx.c): bf16 steps of up to {@link #CPU_NATIVE_BF16_AMX_MAX_ROWS} rows; int8 steps of any
     * size, up to 32 rows on AMX-INT8 with each row quantized to 16 bits (two bytes, exact int32 sums), more widened
     * into bf16 tiles; W8A8 steps of 4 rows and more on AMX-INT8. {@code -Dllamaserve.cpuNativeAmx=false} keeps oneDNN
     * for bf16 and AVX-512 BF16's dot products for int8, VNNI for W8A8 (A/B measurements).
     */
    static final boolean CPU_NATIVE_AMX = Boolean.parseBoolean(System.getProperty("llamaserve.cpuNativeAmx", "true"));
    /**
     * On the CPU, the weights are put on 2 MiB pages (transparent huge pages: advised before they are written) where
     * the native kernels are loaded and the host has not turned them off: fewer TLB misses while a step streams
     * every weight (docs/native-cpu-kernels.md). {@code -Dllamaserve.cpuHugePages=false} leaves them on 4 KiB
     * pages (A/B).
     */
    static final boolean CPU_HUGE_PAGES = Boolean.parseBoolean(System.getProperty("llamaserve.cpuHugePages", "true"));
    /**
     * On the CPU in bfloat16 with the native kernels' AVX-512 BF16 instruction set and without AMX, steps of up to
     * this many rows multiply bf16 weights through {@code llamaserve::linear_bf16} (several rows: tiles of 4 rows x 6
     * channels, the next group of channels prefetched into L2) instead of oneDNN, unless the weights are packed for
     * oneDNN ({@code llm.model.packed-weights}): one row as fast as oneDNN's, 16 and 32 rows faster than
     * {@code torch.linear}, 64 even with it ({@code Int8KernelBenchmark} and the bench's 32-stream decode on a Zen 4:
     * docs/native-cpu-kernels.md). One kernel for every step adds every output up in the same order whatever the
     * rows, so a sequence gets the same logits decoding alone or beside others, and a prompt prefilled cold or from
     * the prefix cache, or as one of {@code n} choices, the same as alone (oneDNN's one-row and several-row kernels
     * differ in the last bits: with the bound at 64 rows, a step beside another sequence's prefill chunk went through
     * oneDNN, and greedy and seeded outputs changed with what ran beside them, with cache hits and with {@code n}).
     * Unbounded by default; a bound (this property) gives steps above it to oneDNN, and gives up that invariance. On
     * AMX CPUs the kernel multiplies on AMX tiles ({@link #CPU_NATIVE_AMX}); with those off they keep oneDNN, whose
     * tiles multiply several rows several times faster than AVX-512. On CPUs with AVX2 only (no AVX-512 BF16, e.g.
     * Zen 3) the kernel widens bf16 to float32 in registers ({@code linear256_bf16}), where libtorch's bf16 GEMM
     * emulates it: 142-181 GFLOP/s from 16 rows on against libtorch's 46-54 on two cores (docs/native-cpu-kernels.md).
     */
    static final int CPU_NATIVE_BF16_MAX_ROWS = Integer.getInteger("llamaserve.cpuNativeBf16MaxRows", Integer.MAX_VALUE);
    /**
     * {@link #CPU_NATIVE_BF16_MAX_ROWS} on AMX tiles, where the kernel's time is nearly flat up to 16 rows and 64
     * rows take 1.3x one (harness: 67 / 72 / 89 ms for 1 / 16 / 64 rows through the 1B shape's linears): the bench's
     * 32-stream decode went from 175 tok/s (oneDNN beyond 16 rows) to 246 with 64 here.
     */
    static final int CPU_NATIVE_BF16_AMX_MAX_ROWS = Integer.getInteger("llamaserve.cpuNativeBf16AmxMaxRows",
            Integer.MAX_VALUE);

    /**
     * The context up to which prefill chunks attend through the native attention kernel, each query as the decoding
     * row it would have been, so that KV recomputed after a preemption, or served from the prefix cache where decoding
     * wrote it, is the same to the bit (README, "Batch invariance"); beyond it, the script's tiled {@code attend}.
     * Every context where the instruction set's register-tiled body applies ({@code body}, the library's
     * {@code attention_body}: on AVX-512 BF16 query heads per KV head % 4 == 0 and head dim % 64 == 0, every Llama 3
     * model; on AVX2 the same group with head dim % 16 == 0 and at most 128): the kernel takes a prefill's rows in
     * tiles that read each chunk of keys once ({@code PREFILL_ATTENTION}).
     * A 16,384-token prompt of the 1B shape took 127.7 s natively against 260.7 with {@code attend} past 8,192 tokens
     * (AMD EPYC Zen 5, 2 cores), where each query reading its keys again had made the kernel slower than
     * {@code attend} past ~15,000 tokens; with the AVX2 bodies forced, an 8,192-token one 220.1 s against 236.4 with
     * {@code attend} throughout (AVX2 had kept {@code attend}). Elsewhere on AVX-512 (the generic body: head dim 32,
     * the bench's tiny shape, or 16, the fixture's) up to {@link #CPU_NATIVE_PREFILL_GENERIC_MAX_CONTEXT}; AVX2's
     * generic body (groups not a multiple of 4, head dims past 128) never.
     * {@code -Dllamaserve.cpuNativePrefillMaxContext} sets the bound for every body.
     */
    static int nativePrefillContext(NativeKernels.Isa isa, NativeKernels.AttentionBody body) {
        int bound = body == NativeKernels.AttentionBody.TILED ? Integer.MAX_VALUE
                : isa == NativeKernels.Isa.AVX512_BF16 ? CPU_NATIVE_PREFILL_GENERIC_MAX_CONTEXT : 0;
        return isa == NativeKernels.Isa.NONE || body == NativeKernels.AttentionBody.NONE ? 0
                : Integer.getInteger("llamaserve.cpuNativePrefillMaxContext", bound);
    }

    /**
     * {@link #nativePrefillContext}'s bound for AVX-512's generic body, slower than the script's {@code attend} at
     * every context (a 512-token chunk after 1,536 tokens: 138 → 173 ms; after 16,384: 426 → 1,339 ms; the tiles gain
     * it 1.0-1.1x) and used up to here all the same, for the bits: a prefill row attends as the decode row it would
     * have been. Past the bound that holds no longer.
     */
    static final int CPU_NATIVE_PREFILL_GENERIC_MAX_CONTEXT = 8192;

    /**
     * {@code -Dllamaserve.graphOptimizer=true}: libtorch's graph executor optimizes the step script; off by default
     * (turned off on the calling thread before each step). It applies on every device, the one switch here that does.
     */
    static final boolean GRAPH_OPTIMIZER = Boolean.getBoolean("llamaserve.graphOptimizer");
}
