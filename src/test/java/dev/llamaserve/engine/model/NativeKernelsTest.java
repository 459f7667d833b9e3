package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import dev.llamaserve.engine.sampling.Sampler;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * llama-serve's native kernels ({@code src/main/native/llamaserve_ops.c}) against libtorch's float32 products, with
 * every instruction set this CPU has (AVX2 + FMA, its bf16 and int8 linears on AVX-512F where present, and AVX-512
 * BF16), on shapes with and without tails and row counts on both sides of the kernels' blocking (4 rows; tiles of 4
 * rows x 6 channels, groups of 12 channels for int8, with tails of rows and channels; 64-row tiles); W8A8 (VNNI) bit
 * for bit against its exact integer reference. Where the library was not built
 * (no gcc) the tests skip, each saying so; {@code LLM_REQUIRE_NATIVE=1} (CI) makes that a failure instead.
 */
class NativeKernelsTest {

    private static PtNDManager manager;
    private static PtSymbolBlock check;
    private static PtSymbolBlock step;   // the model's step script with the native kernels' methods, compiled once
    private static List<NativeKernels.Isa> isas;
    private static boolean amx;   // linear_int8 can take AMX tiles here
    private static long gemmPrefetch;   // the several-row kernels prefetch into L1 (1) or L2 (0) here by default
    private static long avx512f;   // AVX2's bf16 linear runs on the AVX-512F body (1) or its own (0) here by default
    private static boolean vnni;   // linear_w8a8 can run here (AVX-512 VNNI), with either instruction set in use
    /**
     * The most an attention output may differ from the float32 reference, relative to the reference plus 1/32 of its
     * row's largest output: the output's rounding to bf16 (half a unit in the last place, up to 2^-8 relative) and
     * float32's error. Measured 0.0035-0.0037 at every shape and body here; scores scaled by 1.01 in AVX2's tiled
     * chunk function gave 0.17-0.36 in the prefill test below, whose absolute bound (max |y| / 128) let them pass.
     */
    private static final double ATTENTION_RELATIVE_ERROR = 0.005;

    @BeforeAll
    static void load() {
        manager = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch");
        boolean loaded = NativeKernels.load();
        if (!loaded && "1".equals(System.getenv("LLM_REQUIRE_NATIVE"))) {
            throw new AssertionError("LLM_REQUIRE_NATIVE=1 but the native kernels are " + NativeKernels.status());
        }
        if (!loaded) {
            return;
        }
        check = TorchScriptArchive.load(manager, "/dev/llamaserve/engine/model/native_kernels_check.py",
                "NativeKernelsCheck");
        step = LlamaModel.script(manager);
        long best;
        try (IValue r = call("isa", NativeKernels.BEST)) {   // set the best, not read the current: a test run
            best = r.toLong();                                 // before this one in the JVM may have left AVX2
        }
        isas = new ArrayList<>();
        for (long i = 1; i <= best; i++) {
            isas.add(NativeKernels.Isa.of(i));
        }
        try (IValue r = call("amx", 1L)) {
            amx = r.toLong() == 1;
        }
        try (IValue r = call("gemm_prefetch", -1L)) {
            gemmPrefetch = r.toLong();
        }
        try (IValue r = call("avx512f", -1L)) {
            avx512f = r.toLong();
        }
        try (IValue r = call("w8a8_ready")) {
            vnni = r.toLong() == 1;
        }
    }

    @AfterAll
    static void restore() {
        if (check != null) {
            call("isa", (long) isas.get(isas.size() - 1).ordinal()).close();   // the best again, for later tests
            call("amx", 1L).close();
            call("gemm_prefetch", gemmPrefetch).close();
            call("avx512f", avx512f).close();
        }
        manager.close();
    }

    private static void assumeLoaded() {
        Assumptions.assumeTrue(check != null, () -> "native kernels " + NativeKernels.status());
        Assumptions.assumeFalse(isas.isEmpty(), "the native kernels have no instruction set on this CPU");
    }

    private static IValue call(String method, Object... args) {
        IValue[] in = Arrays.stream(args).map(a -> IValue.from((Long) a)).toArray(IValue[]::new);
        try {
            return IValueUtils.runMethod(check, method, in);
        } finally {
            for (IValue v : in) {
                v.close();
            }
        }
    }

    private static double[] floats(String method, long... args) {
        try (IValue r = call(method, Arrays.stream(args).boxed().toArray())) {
            return Arrays.stream(r.toIValueArray()).mapToDouble(v -> {
                try (v) {
                    return v.toDouble();
                }
            }).toArray();
        }
    }

    /** instruction set {@code isa}, linear_int8 without AMX tiles (their own tests turn them on) */
    private static void use(NativeKernels.Isa isa) {
        try (IValue r = call("isa", (long) isa.ordinal())) {
            assertThat(NativeKernels.Isa.of(r.toLong())).isEqualTo(isa);
        }
        try (IValue r = call("amx", 0L)) {
            assertThat(r.toLong()).isZero();
        }
    }

    /**
     * Runs {@code check} with each instruction set in turn, naming it, and with AVX2 on each of its bodies of the ops
     * that have 16-lane ones (rms_norm, silu_mul, rope_kv: avx512f 0 takes the 8-lane ones, 1 the 16-lane ones where
     * the CPU has AVX-512F); the process's setting restored after.
     */
    private static void withEachIsaAndBody(java.util.function.BiConsumer<NativeKernels.Isa, String> check) {
        try {
            for (NativeKernels.Isa isa : isas) {
                use(isa);
                for (long body : isa == NativeKernels.Isa.AVX2 ? new long[] {0, 1} : new long[] {avx512f}) {
                    long got;
                    try (IValue r = call("avx512f", body)) {
                        got = r.toLong();
                    }
                    if (got == body) {   // else no AVX-512F here: AVX2's 8-lane bodies only
                        check.accept(isa, isa != NativeKernels.Isa.AVX2 ? isa.toString()
                                : body == 1 ? "AVX2 on 16 lanes" : "AVX2 on 8 lanes");
                    }
                }
            }
        } finally {
            call("avx512f", avx512f).close();
        }
    }

    /** AVX-512 BF16 (linear_int8 without AMX tiles); skips, saying {@code why} and this CPU's best, where none */
    private static void useAvx512Bf16(String why) {
        assumeLoaded();
        Assumptions.assumeTrue(isas.contains(NativeKernels.Isa.AVX512_BF16),
                () -> why + "; this CPU's best is " + isas.get(isas.size() - 1));
        use(NativeKernels.Isa.AVX512_BF16);
    }

    /** AVX-512 BF16 with linear_int8 on AMX tiles; skips, saying why, where this CPU (or Linux) has none */
    private static void useAmx() {
        assumeLoaded();
        Assumptions.assumeTrue(amx, "this CPU has no AMX-BF16 (or Linux did not grant its tiles): best ISA "
                + isas.get(isas.size() - 1));
        use(NativeKernels.Isa.AVX512_BF16);
        try (IValue r = call("amx", 1L)) {
            assertThat(r.toLong()).isOne();
        }
    }

    /**
     * {@code linear_int8} and {@code linear_bf16} on AMX tiles (channels in groups of 16 and inputs in steps of 32:
     * N % 16 == 0, K % 32 == 0; other shapes keep the AVX-512 kernels; int8 calls of up to 32 rows with K % 64 == 0
     * take 16-bit activations on AMX-INT8): within bf16's rounding of the float32 product for 1-130 rows (one tile
     * of rows, two to four, past 64), K past 2,048; and a row's outputs the same, bit for bit, alone as among 1-4
     * or 70 rows. {@code linear_w8a8} on AMX-INT8: its exact reference, bit for bit.
     */
    @Test
    void linearsOnAmxTilesMatchTheirReferencesAndKeepRowsApart() {
        useAmx();
        try {
            for (long[] s : new long[][] {{1, 64, 2048}, {1, 16, 32}, {2, 32, 8192}, {3, 48, 96}, {5, 16, 2048},
                {16, 128, 256}, {17, 32, 64}, {32, 48, 4096}, {33, 16, 2080}, {33, 16, 2048}, {64, 48, 128},
                {65, 32, 64}, {130, 16, 96}, {3, 12, 96}, {6, 4, 32}, {2, 16, 100}}) {
                for (String method : new String[] {"int8", "bf16"}) {
                    if (method.equals("int8") && s[2] % 32 != 0) {
                        continue;   // blocked int8 needs K % 32 == 0
                    }
                    assertMatches("amx", method, s);
                }
            }
            // int8 calls of up to 32 rows with K % 64 == 0 take the 16-bit activations on AMX-INT8, the others the
            // widening kernel: each kernel's rows alike among its own calls (70 and 33 rows: K % 64 != 0)
            assertRowsAlone("amx", new long[][] {{6, 32, 64}, {16, 4096, 8192}, {5, 512, 2080}, {70, 48, 2080},
                {8, 48, 96}, {9, 16, 64}, {33, 32, 96}, {32, 48, 128}});
            // W8A8 on AMX-INT8 (4 rows and more, N % 16 == 0, K % 64 == 0; else the VNNI kernel): bit for bit the
            // exact reference, as the VNNI kernel is; rows of one, two to four row tiles, past 64, K past 2,048
            // (past 64 rows each group's weights are read once per block of rows: one block where K = 64 or 192,
            // three where K = 8,192)
            assertW8a8Exact("amx w8a8", new long[][] {{4, 16, 64}, {5, 32, 2048}, {16, 128, 256}, {17, 48, 8192},
                {33, 16, 128}, {64, 32, 64}, {65, 16, 192}, {130, 32, 64}, {130, 48, 8192}, {7, 12, 64}, {6, 16, 96}},
                new long[][] {{6, 32, 64}, {70, 512, 2048}});
        } finally {
            call("amx", 0L).close();
        }
    }

    @Test
    void bf16LinearMatchesTheFloat32Product() {
        // rows in tiles (gemm_row_tile) from twice 128 rows where K = 2,048, twice 32 where K = 8,192
        assertMatchesReference("bf16", new long[][] {{1, 64, 2048}, {1, 37, 100}, {2, 64, 64}, {3, 8, 8192},
            {4, 12, 96}, {5, 40, 2048}, {17, 9, 33}, {16, 20, 96}, {7, 8, 64}, {33, 130, 64}, {300, 40, 2048},
            {70, 24, 8192}});
    }

    /**
     * The several-row bf16 kernel copies its rows 2 KiB from the weights' offset within 4 KiB where they lie within
     * 1 KiB of it ({@code gemm_apart} 1, the default; 2 always, 0 never): whichever the setting and wherever the rows
     * lie (0 to 3,968 bytes past the weights' offset), the same products bit for bit, within bf16's rounding of the
     * float32 reference; rows of 4, 8 and 16 KiB (the copy's case) and of 192 bytes.
     */
    @Test
    void rowsCopiedApartFromTheWeightsGiveTheSameProducts() {
        useAvx512Bf16("the several-row kernel is AVX-512 BF16's");
        for (long[] s : new long[][] {{16, 36, 2048}, {5, 12, 8192}, {64, 20, 4096}, {16, 13, 96}}) {
            double[] r = floats("rows_apart", s);
            assertThat(r[3]).as("products %s", Arrays.toString(s)).isEqualTo(15.0);
            assertThat(r[0]).as("products that differ from the first %s", Arrays.toString(s)).isZero();
            assertThat(r[1]).as("rows apart %s: max |error| (max |y| %s)", Arrays.toString(s), r[2])
                    .isLessThanOrEqualTo(r[2] / 256 + 1e-4);
        }
    }

    /**
     * The several-row bf16, int8 and W8A8 kernels prefetch the next group's weights into L1 or into L2, and W8A8's
     * 1-3 rows each block's successor into L1 or not at all ({@code gemm_prefetch}; by default L1 where the L1 data
     * cache holds 48 KiB): with either, each bf16 and int8 product within bf16's rounding of its float32 reference
     * (inputs past one block of 2,048 too), a row's outputs the same, bit for bit, alone as among others, and W8A8 its
     * exact integer product.
     */
    @Test
    void tilesGiveTheSameProductsWithEitherPrefetch() {
        useAvx512Bf16("the tiles are AVX-512 BF16's");
        try {
            for (long l1 : new long[] {0, 1}) {
                try (IValue r = call("gemm_prefetch", l1)) {
                    assertThat(r.toLong()).isEqualTo(l1);
                }
                String what = l1 == 1 ? "prefetch into L1" : "prefetch into L2";
                for (long[] s : new long[][] {{5, 40, 2048}, {16, 20, 96}, {16, 64, 8192}, {33, 130, 64},
                    {64, 13, 2080}}) {
                    assertMatches(what, "bf16", s);
                }
                for (long[] s : new long[][] {{5, 16, 2048}, {16, 128, 256}, {16, 48, 8192}, {65, 12, 64}}) {
                    assertMatches(what, "int8", s);
                }
                assertRowsAlone(what, new long[][] {{16, 4096, 8192}, {70, 12, 2048}, {8, 44, 96}, {5, 512, 2080}});
                // 1-3 rows too: their streams prefetch each block's successor into L1 only where L1 is chosen
                assertW8a8Exact(what + " w8a8", new long[][] {{16, 128, 256}, {17, 48, 8192}, {5, 32, 2048},
                    {1, 64, 2048}, {2, 44, 8192}, {3, 20, 256}}, new long[][] {{16, 512, 2048}});
            }
        } finally {
            call("gemm_prefetch", gemmPrefetch).close();
        }
    }

    /**
     * AVX2's bf16 and int8 linears have two bodies each: their own, 8 lanes wide, and, where the CPU has AVX-512
     * F/BW/VL/DQ but no AVX-512 BF16 (Ice Lake servers), the AVX-512F ones, 16 lanes wide and the default there (so
     * that the other tests' AVX2 runs take them on such a CPU). Each: within bf16's rounding of the float32 product
     * (int8: of the widened weights times their scales) for rows of one, tiles of 4 and their tails, channel tails,
     * and passes of rows (128 rows where K = 2,048, 32 where K = 8,192); a row's outputs the same, bit for bit, alone
     * as among others. bf16 inputs K % 32 != 0 take AVX2's own body with either. Where the CPU has no AVX-512F,
     * AVX2's own bodies are tested, and then the test skips, saying so.
     */
    @Test
    void avx2sLinearsMatchTheProductAndKeepRowsApartOnEitherBody() {
        assumeLoaded();
        use(NativeKernels.Isa.AVX2);
        boolean both = false;
        try {
            for (long body : new long[] {0, 1}) {
                long got;
                try (IValue r = call("avx512f", body)) {
                    got = r.toLong();
                }
                if (body == 1 && got == 0) {
                    break;   // no AVX-512F here
                }
                assertThat(got).isEqualTo(body);
                both = body == 1;
                String what = body == 1 ? "AVX2 on the AVX-512F body" : "AVX2's own body";
                for (long[] s : new long[][] {{1, 64, 2048}, {1, 37, 96}, {2, 6, 64}, {3, 8, 8192}, {4, 12, 96},
                    {5, 41, 2048}, {16, 20, 96}, {17, 9, 32}, {33, 130, 64}, {70, 24, 8192}, {300, 40, 2048},
                    {16, 2, 4096}, {7, 5, 72}}) {
                    assertMatches(what, "bf16", s);
                }
                for (long[] s : new long[][] {{1, 64, 2048}, {1, 4, 32}, {2, 8, 8192}, {3, 12, 96}, {4, 64, 64},
                    {5, 16, 2048}, {16, 128, 256}, {17, 36, 8192}, {64, 8, 128}, {130, 20, 96}, {300, 40, 2048}}) {
                    assertMatches(what, "int8", s);   // blocked int8: N % 4 == 0, K % 32 == 0
                }
                assertRowsAlone(what, new long[][] {{6, 24, 64}, {16, 1024, 2048}, {70, 20, 8192}, {9, 37, 64},
                    {7, 33, 72}, {300, 24, 2048}, {5, 512, 2080}});
            }
        } finally {
            call("avx512f", avx512f).close();
        }
        Assumptions.assumeTrue(both, "this CPU has no AVX-512F: only AVX2's own bf16 and int8 bodies ran");
    }

    @Test
    void int8LinearOnBlockedWeightsMatchesTheWidenedProduct() {
        assertMatchesReference("int8", new long[][] {{1, 64, 2048}, {1, 4, 32}, {2, 8, 8192}, {3, 12, 96},
            {4, 64, 64}, {5, 16, 2048}, {16, 128, 256}, {64, 8, 128}, {65, 12, 64}, {130, 20, 96}, {6, 4, 32}});
    }

    /**
     * A row's outputs do not depend on the rows beside it (one kernel for one row, another for several, the inputs
     * in blocks of 2,048 beyond that: each adds up in one order), so that a sequence decoding alone or in a batch
     * gets the same logits: bit for bit, bf16 and int8, up to 16 rows (the several-row bf16 path, mode 8) and past
     * the 64-row tile, with inputs past one block; and in calls of 2-4 rows (the few-row path of each).
     */
    @Test
    void aRowsOutputsAreTheSameAloneOrAmongOtherRows() {
        assumeLoaded();
        for (NativeKernels.Isa isa : isas) {
            use(isa);
            // 1-4 rows walk each thread's channels (blocks for int8) as two streams: odd and even counts per thread
            // past twice a tile of rows: 300 rows where K = 2,048 (two tiles), 70 where K = 8,192 (two); inputs past
            // a multiple of 16 (AVX2's tail), past AVX2's pass of 48 rows
            assertRowsAlone(isa.toString(), new long[][] {{6, 24, 64}, {16, 4096, 8192}, {5, 512, 2080}, {70, 12, 2048},
                {8, 44, 96}, {9, 37, 64}, {8, 3, 2048}, {300, 24, 2048}, {70, 20, 8192}, {7, 33, 72}, {49, 31, 1000}});
        }
    }

    /**
     * A row with a NaN or an infinity gets no finite output, and the rows beside it only finite ones, from every
     * linear with every ISA (with AMX too where the CPU has it): the kernels that quantize a row (W8A8, int8's 16-bit
     * activations on AMX-INT8) make its scale NaN rather than integers out of a NaN. One row and 1-3 more beside
     * the two bad ones; K % 64 == 0 (AMX-INT8's shapes), rows of up to 32 and past it.
     */
    @Test
    void aRowWithANanOrAnInfinityGetsNoFiniteOutputAndLeavesTheOthersFinite() {
        assumeLoaded();
        List<Boolean> amxSettings = amx ? List.of(false, true) : List.of(false);
        try {
            for (NativeKernels.Isa isa : isas) {
                for (boolean tiles : amxSettings) {
                    if (tiles && isa != NativeKernels.Isa.AVX512_BF16) {
                        continue;
                    }
                    use(isa);
                    call("amx", tiles ? 1L : 0L).close();
                    for (long[] s : new long[][] {{3, 32, 64}, {5, 48, 2048}, {40, 16, 128}}) {
                        for (long method = 0; method < 3; method++) {
                            if (method == 2 && !vnni) {
                                continue;   // W8A8 needs AVX-512 VNNI (refused without it)
                            }
                            try (IValue r = call("non_finite_rows", method, s[0], s[1], s[2])) {
                                assertThat(r.toBoolean()).as("%s%s %s %s", isa, tiles ? " amx" : "",
                                        new String[] {"bf16", "int8", "w8a8"}[(int) method], Arrays.toString(s)).isTrue();
                            }
                        }
                    }
                }
            }
        } finally {
            call("amx", 0L).close();
        }
    }

    /**
     * {@code linear_w8a8}: per-row int8 activations times the blocked int8 weights in int32 is exact, so the kernel
     * must give the reference's bf16 bit for bit (rows with an outlier, an all-zero row, tails of rows and
     * channels, inputs past 2,048), each row alone as in any batch, with every instruction set in use: it needs AVX-512
     * VNNI, with BF16 or without (Ice Lake and Cascade Lake servers), whichever set the other linears take. Skipped,
     * saying so, where the CPU has no VNNI; there the call is refused (an empty result), which the model never makes
     * (it refuses {@code w8a8} at load there), and that is checked first.
     */
    @Test
    void w8a8LinearIsTheExactIntegerProductOfRowsQuantizedPerRow() {
        assumeLoaded();
        if (!vnni) {
            use(isas.get(isas.size() - 1));
            assertThat(floats("w8a8", 2, 8, 64)).as("w8a8 without AVX-512 VNNI: refused").containsExactly(0, 0, 0);
        }
        Assumptions.assumeTrue(vnni, () -> "linear_w8a8 needs AVX-512 VNNI; this CPU's best is "
                + isas.get(isas.size() - 1) + " without it");
        for (NativeKernels.Isa isa : isas) {
            use(isa);
            // 1-3 rows walk each thread's blocks as four streams (two for three rows): 1-8 blocks per thread
            assertW8a8Exact("w8a8", new long[][] {{1, 64, 2048}, {2, 8, 64}, {3, 12, 96}, {1, 44, 256}, {2, 20, 64},
                {3, 36, 2048}, {4, 64, 64}, {5, 16, 2048}, {16, 128, 256}, {17, 24, 8192}, {64, 8, 128}, {65, 12, 64}},
                new long[][] {{6, 24, 64}, {16, 512, 2080}});
        }
    }

    /**
     * {@code linear_w8a8} with the kernels in use: bit for bit its exact reference on each [m, n, k] of {@code shapes},
     * and each row of each of {@code alone} what a call of that row alone gives.
     */
    private static void assertW8a8Exact(String what, long[][] shapes, long[][] alone) {
        for (long[] s : shapes) {
            double[] r = floats("w8a8", s);
            assertThat(r[2]).as("%s %s elements", what, Arrays.toString(s)).isEqualTo((double) s[0] * s[1]);
            assertThat(r[0]).as("%s %s: elements that differ from the exact reference (max |difference| %s)", what,
                    Arrays.toString(s), r[1]).isZero();
        }
        for (long[] s : alone) {
            try (IValue r = call("w8a8_rows_alone", s[0], s[1], s[2])) {
                assertThat(r.toBoolean()).as("%s rows alone %s", what, Arrays.toString(s)).isTrue();
            }
        }
    }

    /** {@code method} ([max |error|, max |reference|, elements] of one [m, n, k] product) with every ISA and shape. */
    private static void assertMatchesReference(String method, long[][] shapes) {
        assumeLoaded();
        for (NativeKernels.Isa isa : isas) {
            use(isa);
            for (long[] s : shapes) {
                assertMatches(isa.toString(), method, s);
            }
        }
    }

    /** {@code method}'s product of shape {@code s} ([m, n, k]) with the kernels in use, within bf16's rounding */
    private static void assertMatches(String what, String method, long[] s) {
        double[] r = floats(method, s);
        assertThat(r[2]).as("%s %s %s elements", what, method, Arrays.toString(s)).isEqualTo((double) s[0] * s[1]);
        // bf16 output rounding is 2^-9 relative; summation order adds float32 rounding
        assertThat(r[0]).as("%s %s %s: max |error| (max |y| %s)", what, method, Arrays.toString(s), r[1])
                .isLessThanOrEqualTo(r[1] / 256 + 1e-4);
    }

    /** each row of each [m, n, k] call (bf16, and int8 where n % 4 == 0) what calls of 1-4 rows give it, bit for bit */
    private static void assertRowsAlone(String what, long[][] shapes) {
        for (long[] s : shapes) {
            try (IValue r = call("rows_alone", s[0], s[1], s[2])) {
                assertThat(r.toBoolean()).as("%s rows alone %s", what, Arrays.toString(s)).isTrue();
            }
        }
    }

    @Test
    void decodeAttentionMatchesSoftmaxOverTheGatheredContext() {
        assumeLoaded();
        for (NativeKernels.Isa isa : isas) {
            use(isa);
            // [B, NH, KVH, D, page size, last position]: GQA and MHA, one page to several, past one score chunk;
            // AVX-512's register-tiled body where G % 4 == 0 and D % 64 == 0 (4 x 64, 16 x 128, 8 x 192; 16 keys
            // exactly, a chunk's tail of 44), its generic one elsewhere (G = 4 with D = 16, G = 1); AVX2's tiled
            // body where G % 4 == 0, D % 16 == 0 and D <= 128 (4 x 16, 4 x 64, 16 x 128; an odd last key; 9
            // sequences: items of head groups), its generic one elsewhere (G = 1, 8 x 192)
            for (long[] s : new long[][] {{1, 4, 1, 16, 16, 0}, {3, 32, 8, 64, 16, 300}, {2, 8, 8, 128, 4, 129},
                {1, 64, 4, 128, 16, 1000}, {2, 8, 2, 64, 16, 15}, {1, 16, 2, 192, 8, 40}, {9, 32, 8, 64, 16, 200}}) {
                double[] r = floats("attention", s);
                assertThat(r[2]).as("%s %s elements", isa, Arrays.toString(s)).isEqualTo((double) s[0] * s[1] * s[3]);
                assertThat(r[0]).as("%s attention %s: max |error| (max |y| %s)", isa, Arrays.toString(s), r[1])
                        .isLessThanOrEqualTo(r[1] / 128 + 1e-3);
                assertThat(r[3]).as("%s attention %s: max relative error", isa, Arrays.toString(s))
                        .isLessThanOrEqualTo(ATTENTION_RELATIVE_ERROR);
            }
        }
        try (IValue r = IValueUtils.runMethod(check, "attention_refused")) {
            assertThat(r.toLongArray()).containsOnly(0L);
        }
    }

    @Test
    void aSequencesAttentionIsTheSameAloneOrAmongOthers() {
        assumeLoaded();
        for (NativeKernels.Isa isa : isas) {
            use(isa);
            // [B, NH, KVH, D, page size, last position]: alone, a sequence's KV heads are split between the threads;
            // among others, one work item takes all of them (AVX-512's tiled body: attention_heads_per_item; AVX2's
            // from 8 sequences a call, else items of one head)
            for (long[] s : new long[][] {{3, 32, 8, 64, 16, 300}, {2, 64, 8, 128, 16, 129}, {4, 32, 8, 64, 16, 1000},
                {2, 8, 2, 64, 16, 15}, {2, 64, 4, 128, 16, 260}, {9, 32, 8, 64, 16, 200}, {8, 64, 4, 128, 16, 140}}) {
                try (IValue r = call("attention_alone", s[0], s[1], s[2], s[3], s[4], s[5])) {
                    assertThat(r.toBoolean()).as("%s attention alone %s", isa, Arrays.toString(s)).isTrue();
                }
            }
        }
    }

    @Test
    void aPrefillsRowsAttendInTilesToTheSameBitsAsEachRowAlone() {
        assumeLoaded();
        for (NativeKernels.Isa isa : isas) {
            use(isa);
            // [NH, KVH, D, page size, last position, rows]: two sequences' prefill chunks of `rows` rows (the second
            // shares all but the last page of the first's table, and its first rows fall in the first's last tile)
            // and two decode rows in one call, against each sequence's rows alone (tiles of other rows) and each row
            // alone (a call of one row: the decode bodies). Tiles of 32 rows at G 4, 16 at G 8, 4 at G 1; past
            // several score chunks; each instruction set's tiled chunk function (G 4 with D 64 or 128 on AVX-512, G 4
            // with D 64, 16 or 128 on AVX2) and its generic one (G 1; D 16 on AVX-512)
            for (long[] s : new long[][] {{32, 8, 64, 16, 300, 36}, {16, 4, 128, 16, 125, 20},
                {32, 4, 128, 16, 1000, 20}, {8, 2, 64, 4, 45, 7}, {4, 4, 64, 16, 100, 10}, {8, 2, 16, 8, 60, 9}}) {
                try (IValue r = call("prefill_attention_alone", s[0], s[1], s[2], s[3], s[4], s[5])) {
                    assertThat(r.toBoolean()).as("%s prefill attention alone %s", isa, Arrays.toString(s)).isTrue();
                }
                double[] e = floats("prefill_attention", s);
                assertThat(e[2]).as("%s %s elements", isa, Arrays.toString(s))
                        .isEqualTo((double) (2 * s[5] + 2) * s[0] * s[2]);
                assertThat(e[0]).as("%s prefill attention %s: max |error| (max |y| %s)", isa, Arrays.toString(s), e[1])
                        .isLessThanOrEqualTo(e[1] / 128 + 1e-3);
                assertThat(e[3]).as("%s prefill attention %s: max relative error", isa, Arrays.toString(s))
                        .isLessThanOrEqualTo(ATTENTION_RELATIVE_ERROR);
            }
        }
    }

    @Test
    void prefillChunksAttendNativelyAtEveryContextWhereTheTiledBodyAppliesAndUpToABoundElsewhere() {
        NativeKernels.AttentionBody tiled = NativeKernels.AttentionBody.TILED;
        NativeKernels.AttentionBody generic = NativeKernels.AttentionBody.GENERIC;
        assertThat(CpuKernelSwitches.nativePrefillContext(NativeKernels.Isa.AVX512_BF16, tiled)).isEqualTo(Integer.MAX_VALUE);
        assertThat(CpuKernelSwitches.nativePrefillContext(NativeKernels.Isa.AVX512_BF16, generic))
                .isEqualTo(CpuKernelSwitches.CPU_NATIVE_PREFILL_GENERIC_MAX_CONTEXT).isEqualTo(8192);
        // AVX2: its tiled body at every context, its generic body never
        assertThat(CpuKernelSwitches.nativePrefillContext(NativeKernels.Isa.AVX2, tiled)).isEqualTo(Integer.MAX_VALUE);
        assertThat(CpuKernelSwitches.nativePrefillContext(NativeKernels.Isa.AVX2, generic)).isZero();
        assertThat(CpuKernelSwitches.nativePrefillContext(NativeKernels.Isa.AVX512_BF16, NativeKernels.AttentionBody.NONE))
                .isZero();
        assertThat(CpuKernelSwitches.nativePrefillContext(NativeKernels.Isa.NONE, tiled)).isZero();
    }

    /**
     * The library's rule for which decode-attention body takes a shape (the one rule: {@code decode_attention_run}
     * picks by it and the loads ask it), with each instruction set this CPU has: [query heads per KV head, head dim].
     */
    @Test
    void theAttentionBodyForEachShapeIsTheLibrarysRule() {
        assumeLoaded();
        NativeKernels.AttentionBody tiled = NativeKernels.AttentionBody.TILED;
        NativeKernels.AttentionBody generic = NativeKernels.AttentionBody.GENERIC;
        NativeKernels.AttentionBody none = NativeKernels.AttentionBody.NONE;
        try {
            for (NativeKernels.Isa isa : isas) {
                use(isa);
                boolean avx512 = isa == NativeKernels.Isa.AVX512_BF16;
                int[][] shapes = {{4, 64}, {8, 128}, {4, 128}, {4, 32}, {4, 48}, {1, 64}, {6, 64}, {4, 192},
                    {16, 256}, {17, 64}, {4, 512}, {0, 64}, {4, 0}};
                NativeKernels.AttentionBody[] want = avx512
                        ? new NativeKernels.AttentionBody[] {tiled, tiled, tiled, generic, generic, generic, generic,
                            tiled, tiled, none, none, none, none}
                        : new NativeKernels.AttentionBody[] {tiled, tiled, tiled, tiled, tiled, generic, generic,
                            generic, generic, none, none, none, none};
                for (int i = 0; i < shapes.length; i++) {
                    assertThat(NativeKernels.attentionBody(step, shapes[i][0], shapes[i][1]))
                            .as("%s, %d query heads per KV head, head dim %d", isa, shapes[i][0], shapes[i][1])
                            .isEqualTo(want[i]);
                }
            }
        } finally {
            NativeKernels.isa(step, NativeKernels.BEST);   // later tests: the best again
        }
    }

    @Test
    void widenedBlockedWeightsAreTheInt8ValuesExactlyInTheCallersTensor() {
        assumeLoaded();
        for (NativeKernels.Isa isa : isas) {
            use(isa);
            for (long[] s : new long[][] {{4, 32}, {64, 2048}, {12, 96}}) {
                try (IValue r = call("widen", s[0], s[1])) {
                    assertThat(r.toBoolean()).as("%s widen %s", isa, Arrays.toString(s)).isTrue();
                }
            }
        }
    }

    @Test
    void nativeQuantizationIsBitIdenticalToTheStepScriptsThenBlocked() {
        assumeLoaded();
        for (long[] s : new long[][] {{8, 64}, {64, 2048}, {12, 4096}}) {
            try (IValue raw = call("bf16_bits", s[0], s[1]);
                 IValue ref = IValueUtils.runMethod(step, "to_int8", raw, IValue.from(15L), IValue.from(15L),
                         IValue.from("cpu"));
                 IValue got = IValueUtils.runMethod(step, "native_quantize_int8", raw)) {
                IValue[] r = ref.toIValueArray();
                IValue[] g = got.toIValueArray();
                try (IValue blocked = IValueUtils.runMethod(check, "block", r[0]);
                     IValue sameQ = IValueUtils.runMethod(check, "same", g[0], blocked);
                     IValue sameScale = IValueUtils.runMethod(check, "same", g[1], r[1])) {
                    assertThat(sameQ.toBoolean()).as("%s q", Arrays.toString(s)).isTrue();
                    assertThat(sameScale.toBoolean()).as("%s scale", Arrays.toString(s)).isTrue();
                }
            }
        }
    }

    /**
     * RMSNorm in one call, alone (rms_norm) and after the residual add (add_rms_norm), with each instruction set and
     * each of AVX2's bodies (the 16-lane body takes H % 16 == 0, the 8-lane one H % 8 == 0 (40), the scalar one the
     * rest (36); 33 x 4,096 and
     * 20 x 2,048 run on several threads): the sum x + r is bit for bit the step script's bf16 add, and the normalised
     * rows are within one bf16 rounding of the script's (both round the normalised row and the product; the sums of
     * squares add up in other orders).
     */
    @Test
    void nativeRmsNormMatchesTheStepScriptsWithinOneBf16RoundingAndItsResidualAddExactly() {
        assumeLoaded();
        withEachIsaAndBody((isa, body) -> {
            for (long[] s : new long[][] {{1, 2048}, {7, 64}, {33, 4096}, {20, 2048}, {3, 40}, {2, 36}}) {
                try (IValue in = call("norm_inputs", s[0], s[1]);
                     IValue r = call("residual", s[0], s[1]);
                     IValue eps = IValue.from(1e-5);
                     IValue no = IValue.from(false)) {
                    IValue[] xw = in.toIValueArray();
                    String what = body + " " + Arrays.toString(s);
                    try (IValue ref = IValueUtils.runMethod(step, "rms_norm", xw[0], xw[1], eps, no);
                         IValue got = IValueUtils.runMethod(step, "native_rms_norm", xw[0], xw[1], eps);
                         IValue rel = IValueUtils.runMethod(check, "max_rel", got, ref)) {
                        // at most one bf16 step (2^-8) apart each
                        assertThat(rel.toDouble()).as("%s max relative difference", what).isLessThanOrEqualTo(1.0 / 64);
                    }
                    try (IValue ref = IValueUtils.runMethod(step, "add_rms_norm", xw[0], r, xw[1], eps, no);
                         IValue got = IValueUtils.runMethod(step, "native_add_rms_norm", xw[0], r, xw[1], eps)) {
                        IValue[] a = ref.toIValueArray();
                        IValue[] b = got.toIValueArray();
                        try (IValue sameSum = IValueUtils.runMethod(check, "same", b[0], a[0]);
                             IValue rel = IValueUtils.runMethod(check, "max_rel", b[1], a[1])) {
                            assertThat(sameSum.toBoolean()).as("%s x + r", what).isTrue();
                            assertThat(rel.toDouble()).as("%s normalised x + r", what).isLessThanOrEqualTo(1.0 / 64);
                        }
                    }
                }
            }
        });
    }

    /**
     * The MLP's silu(gate) * up in one call (silu_mul) is bit for bit the step script's torch.silu and bf16 product,
     * extremes included (exp overflowing, an infinity), where it can run, which must be here (libtorch 2.7.1 exports
     * SLEEF's exp): with each instruction set, and with AVX2 on each of its bodies (8 lanes, and 16 where the CPU has
     * AVX-512F), on sizes that are whole chunks of ATen's vectorized loop (64 bf16), one row and 16 (several
     * threads), and with the best one, the ISA ATen itself runs here, on sizes that end in a part chunk, which ATen
     * computes with std::exp.
     */
    @Test
    void nativeSiluMulIsBitIdenticalToTheStepScriptsTwoOps() {
        assumeLoaded();
        withEachIsaAndBody((isa, what) -> {
            assertThat(NativeKernels.siluReady(step)).as("%s silu_ready", what).isTrue();
            boolean best = isa == isas.get(isas.size() - 1);
            for (long[] s : new long[][] {{1, 8192}, {16, 8192}, {3, 2048}, {1, 100}, {5, 300}, {2, 7}}) {
                if (!best && s[0] * s[1] % 64 != 0) {
                    continue;   // ATen's own chunk (its ISA is the best here) decides where std::exp takes over
                }
                try (IValue in = call("mlp_inputs", s[0], s[1]);
                     IValue no = IValue.from(false)) {
                    IValue[] gu = in.toIValueArray();
                    try (IValue ref = IValueUtils.runMethod(step, "silu_mul", gu[0], gu[1], no);
                         IValue out = IValueUtils.runMethod(step, "native_silu_mul", gu[0], gu[1]);
                         IValue same = IValueUtils.runMethod(check, "same", out, ref)) {
                        assertThat(same.toBoolean()).as("%s %s silu(gate) * up", what, Arrays.toString(s)).isTrue();
                    }
                }
            }
        });
    }

    /**
     * argmax_rows, a greedy step's next tokens, picks in every row what the sampler's greedy loop picks (the first of
     * equal greatest values, a NaN passed over unless at id 0, -0 equal to +0, id 0 in a row of -inf), bf16 and
     * float32, with each instruction set, over rows of 8,197 (one body pass and a tail), 300 and 12 values and over
     * their first 11, 8, 7 and 1 only; and it refuses what it cannot take.
     */
    @Test
    void argmaxRowsPicksWhatTheSamplersGreedyLoopPicks() {
        assumeLoaded();
        for (NativeKernels.Isa isa : isas) {
            use(isa);
            for (long dtype : new long[] {15, 6}) {
                for (long v : new long[] {8197, 300, 12}) {
                    try (IValue x = call("argmax_inputs", 9L, v, dtype);
                         IValue f = IValueUtils.runMethod(check, "floats", x)) {
                        double[] d = f.toDoubleArray();
                        float[] values = new float[d.length];
                        for (int i = 0; i < d.length; i++) {
                            values[i] = (float) d[i];
                        }
                        for (long width : new long[] {v, 11, 8, 7, 1}) {
                            try (IValue w = IValue.from(width);
                                 IValue ids = IValueUtils.runMethod(step, "native_argmax_rows", x, w)) {
                                long[] got = ids.toTensor(manager).toLongArray();
                                assertThat(got).hasSize(9);
                                for (int r = 0; r < 9; r++) {
                                    assertThat(got[r]).as("%s dtype %d row %d of %d, width %d", isa, dtype, r, v, width)
                                            .isEqualTo(Sampler.argmax(values, (int) (r * v), (int) width));
                                }
                            }
                        }
                    }
                }
            }
        }
        try (IValue r = call("argmax_refused")) {
            assertThat(r.toLongArray()).containsOnly(0L);
        }
    }

    /**
     * The rotary embedding and KV write in one call (rope_kv) give exactly what the step script's three bf16 ops and
     * two index copies give: q, and every slot of both caches, bit for bit, with each instruction set and each of
     * AVX2's bodies (the 16-lane body takes D % 32 == 0, the 8-lane one D % 16 == 0 (48 with 16 lanes too), the scalar
     * one the rest), one token and several (more than 8: the parallel loop).
     */
    @Test
    void nativeRopeAndKvWriteAreBitIdenticalToTheStepScripts() {
        assumeLoaded();
        withEachIsaAndBody((isa, body) -> {
            for (long[] s : new long[][] {{1, 32, 8, 64, 40}, {5, 4, 2, 32, 16}, {3, 2, 1, 6, 9}, {20, 8, 2, 64, 64},
                    {4, 4, 2, 48, 12}}) {
                try (IValue in = call("rope_inputs", s[0], s[1], s[2], s[3], s[4])) {
                    IValue[] a = in.toIValueArray();
                    IValue[] refCaches = {IValueUtils.runMethod(check, "copy", a[5]), IValueUtils.runMethod(check, "copy", a[6])};
                    IValue[] gotCaches = {IValueUtils.runMethod(check, "copy", a[5]), IValueUtils.runMethod(check, "copy", a[6])};
                    try (IValue no = IValue.from(false);
                         IValue yes = IValue.from(true);
                         IValue ref = IValueUtils.runMethod(step, "rope_kv", a[0], a[1], a[2], a[3], a[4], refCaches[0],
                                 refCaches[1], refCaches[0], refCaches[1], a[7], no, no);
                         IValue got = IValueUtils.runMethod(step, "rope_kv", a[0], a[1], a[2], a[3], a[4], gotCaches[0],
                                 gotCaches[1], gotCaches[0], gotCaches[1], a[7], no, yes);
                         IValue sameQ = IValueUtils.runMethod(check, "same", got, ref);
                         IValue sameK = IValueUtils.runMethod(check, "same", gotCaches[0], refCaches[0]);
                         IValue sameV = IValueUtils.runMethod(check, "same", gotCaches[1], refCaches[1]);
                         IValue keptK = IValueUtils.runMethod(check, "same", gotCaches[0], a[5])) {
                        assertThat(got.toTensor(manager).getShape().getShape()).as("%s %s q's shape", body, Arrays.toString(s))
                                .containsExactly(s[0], s[1], s[3]);
                        assertThat(sameQ.toBoolean()).as("%s %s q", body, Arrays.toString(s)).isTrue();
                        assertThat(sameK.toBoolean()).as("%s %s k cache", body, Arrays.toString(s)).isTrue();
                        assertThat(sameV.toBoolean()).as("%s %s v cache", body, Arrays.toString(s)).isTrue();
                        assertThat(keptK.toBoolean()).as("%s %s: the k cache was written", body, Arrays.toString(s))
                                .isFalse();
                    } finally {
                        for (IValue v : refCaches) {
                            v.close();
                        }
                        for (IValue v : gotCaches) {
                            v.close();
                        }
                        for (IValue v : a) {
                            v.close();
                        }
                    }
                }
            }
        });
    }

    /**
     * {@code decoder_layer} refuses, with two empty results and the caches untouched, a slot outside the cache, a
     * weight that is not contiguous or not bf16, a k_proj of another shape, a position whose page is not in its row's
     * table, and {@code decoder_layer_int8} a scale of another length; the same calls with valid arguments answer two
     * [T, H] results each (the last two elements: 256 - 256).
     */
    /**
     * A decoder layer's rows come out the same, bit for bit, from one call of many rows (a prefill chunk: its
     * activations in the block the calling thread keeps from call to call, the projections' rows in tiles) as from
     * calls of 96 rows (a block per call, no tiles): a call of 2,600 rows, then one of 1,400 in the block the first
     * left behind; with each instruction set this CPU has.
     */
    @Test
    void aDecoderLayersRowsAreTheSameInOneCallOfManyRowsAsInSmallCalls() {
        assumeLoaded();
        for (NativeKernels.Isa isa : isas) {
            use(isa);
            try (IValue r = IValueUtils.runMethod(check, "layer_rows_alone", IValue.listFrom(new long[] {2600, 1400}),
                    IValue.from(96L))) {
                assertThat(r.toBoolean()).as("%s: 2,600 and 1,400 rows in one call against calls of 96", isa).isTrue();
            }
        }
    }

    @Test
    void aDecoderLayerCallTheKernelsCannotTakeGivesEmptyResultsAndWritesNothing() {
        assumeLoaded();
        try (IValue r = IValueUtils.runMethod(check, "layer_refused")) {
            assertThat(r.toLongArray()).containsOnly(0L);
        }
    }

    @Test
    void ropeCallsTheKernelCannotTakeGiveEmptyResultsAndWriteNothing() {
        assumeLoaded();
        try (IValue r = IValueUtils.runMethod(check, "rope_refused")) {
            assertThat(r.toLongArray()).containsOnly(0L);
        }
    }

    /**
     * {@code huge_pages}, as the load puts the weights on 2 MiB pages. On a tensor about to be filled, its aligned
     * interior exactly: those pages dropped (they read 0), the head and tail before and after them untouched, and
     * what is written afterwards held. On a written one (collapsed): its values as they were, at most that interior,
     * none for a tensor under 2 MiB. A tensor that is not contiguous is left alone (0). -1 only where this host has
     * transparent huge pages off or none. Whether the kernel could collapse them (Linux 6.1+, a free huge page) is
     * the host's, so 0 is a valid answer there.
     */
    @Test
    void hugePagesActOnlyOnWhole2MibPagesInsideATensorAndKeepWrittenValues() throws java.io.IOException {
        assumeLoaded();
        java.nio.file.Path thp = java.nio.file.Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
        boolean off = !java.nio.file.Files.isReadable(thp) || java.nio.file.Files.readString(thp).contains("[never]");
        long mib = 1L << 20;
        long n = 3 * mib;   // 12 MiB of float32: at least 5 whole 2 MiB pages inside
        try (IValue ramp = call("ramp", n);
             IValue dropped = call("ramp", n);
             IValue droppedBytes = IValueUtils.runMethod(step, "native_huge_pages", dropped, IValue.from(false));
             IValue layout = IValueUtils.runMethod(check, "zeroed_and_kept", dropped, ramp);
             IValue fresh = call("ramp", n);
             IValue advised = IValueUtils.runMethod(step, "native_huge_pages", fresh, IValue.from(false));
             IValue filled = IValueUtils.runMethod(check, "fill_ramp", fresh);
             IValue freshSame = IValueUtils.runMethod(check, "same", fresh, ramp);
             IValue written = call("ramp", n);
             IValue collapsed = IValueUtils.runMethod(step, "native_huge_pages", written, IValue.from(true));
             IValue writtenSame = IValueUtils.runMethod(check, "same", written, ramp);
             IValue small = call("ramp", 1000L);
             IValue rs = IValueUtils.runMethod(step, "native_huge_pages", small, IValue.from(true));
             IValue view = call("transposed", 2048L);   // 16 MiB, not contiguous
             IValue rv = IValueUtils.runMethod(step, "native_huge_pages", view, IValue.from(false))) {
            long bytes = collapsed.toLong();
            long[] zk = layout.toLongArray();
            if (off) {
                assertThat(bytes).isEqualTo(-1);
                assertThat(advised.toLong()).isEqualTo(-1);
                assertThat(zk).containsExactly(0L, n);
            } else {
                assertThat(advised.toLong()).as("the aligned interior, advised").isBetween(10 * mib, 12 * mib);
                assertThat(advised.toLong() % (2 * mib)).isZero();
                assertThat(zk[0] * 4).as("dropped: the interior reads 0").isEqualTo(droppedBytes.toLong());
                assertThat(zk[1]).as("the head and tail kept").isEqualTo(n - zk[0]);
                assertThat(bytes).isBetween(0L, 12 * mib);
                assertThat(bytes % (2 * mib)).isZero();
                assertThat(rs.toLong()).isZero();
            }
            assertThat(rv.toLong()).as("not contiguous: left alone").isZero();
            assertThat(freshSame.toBoolean()).as("written after it was advised").isTrue();
            assertThat(writtenSame.toBoolean()).as("values after a collapse").isTrue();
            System.out.printf("huge_pages: %d of 12 MiB collapsed onto 2 MiB pages (transparent huge pages %s)%n",
                    bytes >> 20, off ? "off" : "on");
        }
    }

    /**
     * {@code to_compute} as the loader calls it on the CPU (huge pages on): a weight of 2 MiB or more starts on a 2 MiB
     * boundary ({@code huge_offset} 0), so that all of it can lie on huge pages, and holds the checkpoint's values, as
     * does a smaller one; so does the copy an int8 weight gets ({@code on_huge_pages}). {@code huge_offset} reads where
     * a tensor's data starts, not its storage: one bf16 element on, 2 MiB less 2 bytes.
     */
    @Test
    void theLoaderStartsAWeightOf2MibOrMoreOnA2MibBoundary() {
        assumeLoaded();
        long bf16 = ComputeDType.BFLOAT16.torchCode();
        try (IValue raw = call("bf16_bits", 1024L, 2048L);   // [1024, 4096] uint8: 4 MiB of bf16
             IValue small = call("bf16_bits", 64L, 2048L);   // 256 KiB
             IValue w = toCompute(raw, bf16);
             IValue ws = toCompute(small, bf16);
             IValue offset = IValueUtils.runMethod(step, "native_huge_offset", w);
             IValue next = IValueUtils.runMethod(check, "flat_from", w, IValue.from(1L));
             IValue nextOffset = IValueUtils.runMethod(step, "native_huge_offset", next);
             IValue expected = IValueUtils.runMethod(check, "raw_as_bf16", raw);
             IValue same = IValueUtils.runMethod(check, "same", w, expected);
             IValue expectedSmall = IValueUtils.runMethod(check, "raw_as_bf16", small);
             IValue sameSmall = IValueUtils.runMethod(check, "same", ws, expectedSmall);
             IValue q = call("int8_weight", 2048L, 2048L);   // 4 MiB
             IValue qh = IValueUtils.runMethod(step, "on_huge_pages", q);
             IValue qOffset = IValueUtils.runMethod(step, "native_huge_offset", qh);
             IValue sameQ = IValueUtils.runMethod(check, "same", qh, q)) {
            assertThat(offset.toLong()).as("on a 2 MiB boundary").isZero();
            assertThat(nextOffset.toLong()).isEqualTo((2L << 20) - 2);
            assertThat(same.toBoolean()).isTrue();
            assertThat(sameSmall.toBoolean()).isTrue();
            assertThat(qOffset.toLong()).as("the int8 copy on a 2 MiB boundary").isZero();
            assertThat(sameQ.toBoolean()).isTrue();
        }
    }

    private static IValue toCompute(IValue raw, long dtype) {
        try (IValue src = IValue.from(dtype);
             IValue dst = IValue.from(dtype);
             IValue device = IValue.from("cpu");
             IValue huge = IValue.from(true)) {
            return IValueUtils.runMethod(step, "to_compute", raw, src, dst, device, huge);
        }
    }

    /**
     * {@code copy_raw} (the loader's weights in the checkpoint's own dtype): raw bytes into a tensor of exactly as
     * many bytes, as {@code view_copy(raw, dtype)} reads them; where the sizes differ, 0 and nothing written.
     */
    @Test
    void copyRawWritesTheBytesOnlyIntoATensorOfAsManyBytes() {
        assumeLoaded();
        try (IValue raw = call("bf16_bits", 64L, 2048L);   // [64, 4096] uint8
             IValue out = call("bf16_filled", 64L, 2048L);
             IValue copied = IValueUtils.runMethod(step, "native_copy_raw", out, raw);
             IValue expected = IValueUtils.runMethod(check, "raw_as_bf16", raw);
             IValue same = IValueUtils.runMethod(check, "same", out, expected);
             IValue wrong = call("bf16_filled", 64L, 2049L);
             IValue refused = IValueUtils.runMethod(step, "native_copy_raw", wrong, raw);
             IValue untouched = call("bf16_filled", 64L, 2049L);
             IValue kept = IValueUtils.runMethod(check, "same", wrong, untouched)) {
            assertThat(copied.toLong()).isEqualTo(64L * 2048 * 2);
            assertThat(same.toBoolean()).isTrue();
            assertThat(refused.toLong()).isZero();
            assertThat(kept.toBoolean()).as("nothing written where the sizes differ").isTrue();
        }
    }

    /**
     * {@code -Dllamaserve.nativeIsa}, which each load reads: {@code best}; {@code avx2}, which runs only the AVX2 bodies
     * on a CPU with AVX-512 (the bench's AVX2 path); or {@code avx512f}, the AVX2 bodies with the bf16 linear on its
     * AVX-512F body where the CPU has AVX-512F (the path of CPUs with AVX-512 but not its BF16 instructions); any other
     * value fails the load, naming the property.
     */
    @Test
    void theLoadsInstructionSetIsTheBestAvx2OrAvx512f() {
        assertThat(NativeKernels.loadIsa("best")).isEqualTo(NativeKernels.BEST);
        assertThat(NativeKernels.loadIsa(" AVX2 ")).isEqualTo(NativeKernels.Isa.AVX2.ordinal());
        assertThat(NativeKernels.loadIsa("avx512f")).isEqualTo(NativeKernels.Isa.AVX2.ordinal());
        assertThat(NativeKernels.loadAvx512f(" AVX2 ")).isZero();
        assertThat(NativeKernels.loadAvx512f("avx512f")).isOne();
        assertThat(NativeKernels.loadAvx512f("best")).isOne();
        for (String bad : new String[] {"avx512", "amx"}) {
            assertThatThrownBy(() -> NativeKernels.loadIsa(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("-Dllamaserve.nativeIsa=" + bad + ": expected best, avx2 or avx512f");
            assertThatThrownBy(() -> NativeKernels.loadAvx512f(bad)).isInstanceOf(IllegalArgumentException.class);
        }
        assumeLoaded();
        try {
            assertThat(NativeKernels.isa(step, NativeKernels.loadIsa("avx2"))).isEqualTo(NativeKernels.Isa.AVX2);
            assertThat(NativeKernels.avx512fLinear(step, NativeKernels.loadAvx512f("avx2"))).isFalse();
            assertThat(NativeKernels.isa(step, NativeKernels.loadIsa("avx512f"))).isEqualTo(NativeKernels.Isa.AVX2);
            assertThat(NativeKernels.avx512fLinear(step, NativeKernels.loadAvx512f("avx512f")))
                    .as("on where the CPU has AVX-512F (this one: %s)", avx512f == 1).isEqualTo(avx512f == 1);
            assertThat(NativeKernels.isa(step, NativeKernels.loadIsa("best"))).isEqualTo(isas.get(isas.size() - 1));
        } finally {
            NativeKernels.isa(step, NativeKernels.BEST);   // later tests: the best again, and the default body
            NativeKernels.avx512fLinear(step, avx512f);
        }
    }

    /**
     * Where the library is absent the step script is compiled with {@code llama_native_absent.py}: it must compile
     * (it did not once, when a stand-in called back into the method that calls it) and report no instruction set,
     * no attention body and no AVX-512F body; its huge-page and raw-copy stand-ins do nothing and answer 0. Runs with or without the
     * library.
     */
    @Test
    void theStepScriptCompilesWithTheStandInsForAnAbsentLibrary() {
        PtSymbolBlock absent = TorchScriptArchive.load(manager, LlamaModel.SCRIPT_CLASS,
                List.of(LlamaModel.SCRIPT, NativeKernels.SCRIPT_ABSENT));
        assertThat(NativeKernels.isa(absent, NativeKernels.BEST)).isEqualTo(NativeKernels.Isa.NONE);
        assertThat(NativeKernels.attentionBody(absent, 4, 64)).isEqualTo(NativeKernels.AttentionBody.NONE);
        assertThat(NativeKernels.avx512fLinear(absent, 1)).isFalse();
        try (ai.djl.pytorch.engine.PtNDArray t = (ai.djl.pytorch.engine.PtNDArray) manager.zeros(new ai.djl.ndarray.types.Shape(1024));
             ai.djl.pytorch.engine.PtNDArray raw = (ai.djl.pytorch.engine.PtNDArray) manager.zeros(
                     new ai.djl.ndarray.types.Shape(4096), ai.djl.ndarray.types.DataType.UINT8);
             IValue tv = IValue.from(t);
             IValue rawv = IValue.from(raw);
             IValue huge = IValueUtils.runMethod(absent, "native_huge_pages", tv, IValue.from(true));
             IValue copied = IValueUtils.runMethod(absent, "native_copy_raw", tv, rawv)) {
            assertThat(huge.toLong()).isZero();
            assertThat(copied.toLong()).as("the loader then converts through view_copy").isZero();
        }
    }

    @Test
    void blockedLayoutIsTheDocumentedOne() {
        assumeLoaded();
        try (IValue r = IValueUtils.runMethod(check, "blocked_layout")) {
            assertThat(r.toBoolean()).isTrue();
        }
    }

    @Test
    void callsTheKernelsCannotTakeGiveEmptyResults() {
        assumeLoaded();
        try (IValue r = IValueUtils.runMethod(check, "refused")) {
            assertThat(r.toLongArray()).containsOnly(0L);
        }
    }
}
