/* llamaserve_ops.c's part: AVX-512 BF16, the bf16 and blocked-int8 linears of 1-4 rows and of several rows.
 * Included by llamaserve_ops.c, in its order (one translation unit), not compiled alone. */

/* ---- AVX-512 BF16: 32 inputs per dot product, 4 channels x up to 4 rows ---- */
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx512vbmi")))
/* AVX-512 without BF16 or VBMI: the helpers below that need neither, so that they inline into T512's kernels and into
   the kernels of CPUs without BF16 (W8A8's T512V: VNNI; linear_avx512f.c) alike */
#define T512B __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

/* whether the CPU has T512B's extensions (AVX2's linears on AVX-512F, linear_avx512f.c; W8A8 with VNNI beside them) */
static int avx512f_detect(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
           && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

/*
 * int8 -> bf16, exactly (|q| <= 127 fits bf16's 8-bit significand): bf16(|q|) from two 128-entry byte tables
 * (vpermi2b: the low and the high byte), the sign bit put back, the bytes interleaved into words (vpermt2b): five
 * permutes per 64 weights, where a conversion through float32 takes some 14 instructions (sign extension to 32 bits,
 * int -> float, float -> bf16, per 16).
 */
static uint8_t widen_tab[256] __attribute__((aligned(64)));   /* bf16(i), i < 128: low bytes, then high bytes */
static uint8_t widen_ix[128] __attribute__((aligned(64)));    /* (low, high) byte pairs of inputs 0-31, 32-63 */

typedef struct {
    __m512i lo0, lo1, hi0, hi1, ix0, ix1, sign;
} Widen;

T512 static inline __attribute__((always_inline)) Widen widen_tables(void) {
    Widen w;
    w.lo0 = _mm512_load_si512(widen_tab);
    w.lo1 = _mm512_load_si512(widen_tab + 64);
    w.hi0 = _mm512_load_si512(widen_tab + 128);
    w.hi1 = _mm512_load_si512(widen_tab + 192);
    w.ix0 = _mm512_load_si512(widen_ix);
    w.ix1 = _mm512_load_si512(widen_ix + 64);
    w.sign = _mm512_set1_epi8((char) 0x80);
    return w;
}

/* 64 int8 at p (two channels' 32 inputs) -> two vectors of 32 bf16, exactly */
T512 static inline __attribute__((always_inline)) void widen64_regs(const Widen* t, const int8_t* p, __m512bh* c0,
        __m512bh* c1) {
    const __m512i b = _mm512_loadu_si512(p), a = _mm512_abs_epi8(b);                        /* 64 x |q| */
    const __m512i lo = _mm512_permutex2var_epi8(t->lo0, a, t->lo1);                         /* 64 low bytes */
    const __m512i hi = _mm512_ternarylogic_epi32(_mm512_permutex2var_epi8(t->hi0, a, t->hi1), b, t->sign, 0xF8);
    *c0 = (__m512bh) _mm512_permutex2var_epi8(lo, t->ix0, hi);
    *c1 = (__m512bh) _mm512_permutex2var_epi8(lo, t->ix1, hi);
}

/* 64 int8 at p (two channels' 32 inputs) -> 64 bf16 at dst, exactly */
T512 static inline __attribute__((always_inline)) void widen64(const Widen* t, const int8_t* p, uint16_t* dst) {
    __m512bh c0, c1;
    widen64_regs(t, p, &c0, &c1);
    _mm512_storeu_si512(dst, (__m512i) c0);
    _mm512_storeu_si512(dst + 32, (__m512i) c1);
}

static void widen_tables_init(void) {
    for (int i = 0; i < 128; i++) {
        const uint16_t h = f32_to_bf16((float) i);
        widen_tab[i] = (uint8_t) (h & 0xff);
        widen_tab[128 + i] = (uint8_t) (h >> 8);
    }
    for (int j = 0; j < 32; j++) {
        widen_ix[2 * j] = (uint8_t) j;             /* word j of inputs 0-31: low byte j, high byte j (64 + j) */
        widen_ix[2 * j + 1] = (uint8_t) (64 + j);
        widen_ix[64 + 2 * j] = (uint8_t) (32 + j);
        widen_ix[64 + 2 * j + 1] = (uint8_t) (96 + j);
    }
}

/* 16 bf16 -> 16 float32, exactly */
T512B static inline __m512 bf16x16_f32(const uint16_t* p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*) p)), 16));
}

/* r [16][16] 32-bit transposed in place (r[p] lane m = r[m] lane p before): the classic 16 x 16 transpose, unpacks
   of dwords and qwords, then 128-bit shuffles */
T512 static inline __attribute__((always_inline)) void transpose16_regs(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
    }
}

/* 16 float32 rounded to bf16 as f32_to_bf16 rounds them (NaN kept NaN), in the top halves of 16 int32 */
T512B static inline __m512i round_bf16x16(__m512 y) {
    const __m512i u = _mm512_castps_si512(y);
    const __m512i r = _mm512_and_si512(_mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff),
            _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1)))), _mm512_set1_epi32((int) 0xffff0000u));
    const __mmask16 nan = _mm512_cmp_ps_mask(y, y, _CMP_UNORD_Q);
    return _mm512_mask_or_epi32(r, nan, _mm512_and_si512(u, _mm512_set1_epi32((int) 0xffff0000u)),
                                _mm512_set1_epi32(0x00400000));
}

/* 16 values round_bf16x16 rounded -> their 16 bf16 */
T512B static inline __m256i bf16x16_pack(__m512i rounded) {
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(rounded, 16));
}

/* 16 float32 -> 16 bf16 as f32_to_bf16 rounds them */
T512B static inline __m256i f32x16_bf16(__m512 y) {
    return bf16x16_pack(round_bf16x16(y));
}

/*
 * 8 channels' sums of one row's two bytes (amx512_a16's high and low rows, exact int32) joined: float(256 hi + lo),
 * exact in double and rounded once, the same in the tile and the VNNI epilogue
 */
T512B static inline __m256 join_bytes8(__m256i hi, __m256i lo) {
    return _mm512_cvtpd_ps(_mm512_fmadd_pd(_mm512_cvtepi32_pd(hi), _mm512_set1_pd(256.0), _mm512_cvtepi32_pd(lo)));
}

/* channels n0 .. n0+nc-1 (nc % 4 == 0) of blocked int8 -> out [nc, K] bf16 row-major, each block read in order */
T512 static inline void widen_channels512(const int8_t* qb, uint16_t* out, int64_t n0, int64_t nc, int64_t K) {
    const Widen t = widen_tables();
    for (int64_t b = n0; b < n0 + nc; b += 4)
        for (int64_t k = 0; k < K; k += 32)
            for (int j = 0; j < 4; j += 2) {
                __m512bh c0, c1;
                widen64_regs(&t, qb + blocked(b + j, k, K), &c0, &c1);
                _mm512_storeu_si512(out + (b - n0 + j) * K + k, (__m512i) c0);
                _mm512_storeu_si512(out + (b - n0 + j + 1) * K + k, (__m512i) c1);
            }
}

/*
 * Rows m0 .. m0+MC-1 of x against NC channels of w: the first `split` of them n0, n0+1, .., the others n1, n1+1, ..
 * (one run, or two far apart: see few512). One accumulator per row and channel over all K inputs, 32 at a time, the
 * last K % 32 masked (bf16; blocked int8 has K % 32 == 0): every kernel's one order of summation, so a row and channel
 * come out bit for bit the same whichever kernel computes them. Always inlined with constant q8, MC, split and NC, so
 * that the compiler specialises each call: the accumulators stay in registers and the loops unroll.
 */
T512 static inline __attribute__((always_inline)) void dots512(const uint16_t* x, const void* w, const int q8,
        const uint16_t* scale, uint16_t* out, int64_t N, int64_t K, int64_t m0, const int MC, int64_t n0, int64_t n1,
        const int split, const int NC) {
#define CHANNEL(j) ((j) < split ? n0 + (j) : n1 + (j) - split)
    __m512 acc[4][8];
    for (int i = 0; i < MC; i++)
        for (int j = 0; j < NC; j++) acc[i][j] = _mm512_setzero_ps();
    const int64_t K32 = K & ~(int64_t) 31;
    const Widen t = widen_tables();   /* (int8) */
    for (int64_t k = 0; k < K32; k += 32) {
        __m512bh wv[8];
        for (int j = 0; j < NC; j++) {
            if (q8) {   /* channels j, j+1 of a block: 64 bytes (NC is 4 or 8; j + 1 < 8 where NC = 1) */
                if (j % 2 == 0) widen64_regs(&t, (const int8_t*) w + blocked(CHANNEL(j), k, K), &wv[j], &wv[j + 1]);
            } else {
                wv[j] = (__m512bh) _mm512_loadu_si512((const uint16_t*) w + CHANNEL(j) * K + k);
            }
        }
        for (int i = 0; i < MC; i++) {
            const __m512bh xv = (__m512bh) _mm512_loadu_si512(x + (m0 + i) * K + k);
            for (int j = 0; j < NC; j++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], wv[j], xv);
        }
    }
    if (!q8 && K32 < K) {
        const __mmask32 km = (__mmask32) ((1u << (K - K32)) - 1u);
        __m512bh wv[8];
        for (int j = 0; j < NC; j++)
            wv[j] = (__m512bh) _mm512_maskz_loadu_epi16(km, (const uint16_t*) w + CHANNEL(j) * K + K32);
        for (int i = 0; i < MC; i++) {
            const __m512bh xv = (__m512bh) _mm512_maskz_loadu_epi16(km, x + (m0 + i) * K + K32);
            for (int j = 0; j < NC; j++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], wv[j], xv);
        }
    }
    for (int i = 0; i < MC; i++)
        for (int j = 0; j < NC; j++) store(out, N, m0 + i, CHANNEL(j), _mm512_reduce_add_ps(acc[i][j]), q8, scale);
#undef CHANNEL
}

/* Rows m0 .. m0+MC-1 of x against channels n0 .. n0+NC-1 (NC <= 4) of w. */
T512 static inline __attribute__((always_inline)) void block512(const uint16_t* x, const void* w, const int q8,
        const uint16_t* scale, uint16_t* out, int64_t N, int64_t K, int64_t m0, int64_t n0, const int MC,
        const int NC) {
    dots512(x, w, q8, scale, out, N, K, m0, MC, n0, n0, NC, NC);
}

#define GEMV512(NAME, Q8)                                                                                      \
    T512 static void NAME(const uint16_t* x, const void* w, const uint16_t* scale, uint16_t* out, int64_t M,   \
                          int64_t N, int64_t K) {                                                              \
        const int64_t blocks = (N + 3) / 4;                                                                    \
        _Pragma("omp parallel for schedule(static)")                                                           \
        for (int64_t b = 0; b < blocks; b++) {                                                                 \
            const int64_t n0 = b * 4;                                                                          \
            if (N - n0 >= 4) {                                                                                 \
                int64_t m0 = 0;                                                                                \
                for (; m0 + 4 <= M; m0 += 4) block512(x, w, Q8, scale, out, N, K, m0, n0, 4, 4);              \
                switch (M - m0) {                                                                              \
                    case 3: block512(x, w, Q8, scale, out, N, K, m0, n0, 3, 4); break;                        \
                    case 2: block512(x, w, Q8, scale, out, N, K, m0, n0, 2, 4); break;                        \
                    case 1: block512(x, w, Q8, scale, out, N, K, m0, n0, 1, 4); break;                        \
                    default: break;                                                                            \
                }                                                                                              \
            } else {                                                                                           \
                for (int64_t n = n0; n < N; n++)                                                               \
                    for (int64_t m = 0; m < M; m++) block512(x, w, Q8, scale, out, N, K, m, n, 1, 1);         \
            }                                                                                                  \
        }                                                                                                      \
    }

GEMV512(gemv512_bf16, 0)
GEMV512(gemv512_int8, 1)

/*
 * The streams of a few-row kernel: this thread's run [c0, c1) of n units (bf16 channels, blocks of four int8
 * channels, groups of 16), walked as `parts` stretches together: step i takes unit c0 + u * per + i of each stretch
 * u, those past c1 left out (the last stretch is the short one). Called inside a parallel region.
 */
static inline void stream_parts(int64_t n, int64_t parts, int64_t* c0, int64_t* c1, int64_t* per) {
    const int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
    *c0 = n * id / nt;
    *c1 = n * (id + 1) / nt;
    *per = (*c1 - *c0 + parts - 1) / parts;
}

/* two stretches (below): pair i is units c0 + i and c0 + half + i, the second past c1 at the last i of an odd count */
static inline void stream_halves(int64_t n, int64_t* c0, int64_t* c1, int64_t* half) {
    stream_parts(n, 2, c0, c1, half);
}

/*
 * The next run [*r0, *r1) of n units for this thread of a parallel region, from a counter its threads share (*next,
 * 0 before the region); 0 when none is left. A run is a 1/(2T) of the units left (T threads), at least `least`, so
 * the runs shrink as the call goes on. A thread whose core runs slower takes fewer of them, where a fixed share per
 * thread made every call wait for the slowest: on a 2-core KVM guest (AMD EPYC Zen 5), in some hours, one vCPU ran a
 * third slower than the other while both were busy (a neighbour on the host); 16 rows through the 113 linears of the
 * 1B shape, the thread with the first halves busy 83 ms in all, the other 105. Which thread computes a unit does not
 * change its arithmetic: the outputs are the same bit for bit.
 */
static inline int take_run(int64_t* next, int64_t n, int64_t least, int64_t* r0, int64_t* r1) {
    const int64_t share = 2 * (int64_t) omp_get_num_threads();
    int64_t at = __atomic_load_n(next, __ATOMIC_RELAXED);
    for (;;) {
        if (at >= n) return 0;
        int64_t len = (n - at) / share;
        if (len < least) len = least;
        if (len > n - at) len = n - at;
        if (__atomic_compare_exchange_n(next, &at, at + len, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            *r0 = at;
            *r1 = at + len;
            return 1;
        }
    }
}
#define FEW_RUN_LEAST 16   /* units of few512's shortest run: 16 channels (64 KiB where K = 2,048), 16 int8 blocks */
#define GEMM_RUN_LEAST 4   /* groups of the several-row kernels' shortest run (6 bf16 channels each, 12 int8) */

/* Rows 0 .. MC-1 of x against unit a and (two) unit b: a bf16 channel, or (q8) a block of four int8 channels. */
T512 static inline __attribute__((always_inline)) void pair512(const uint16_t* x, const void* w, const int q8,
        const uint16_t* scale, uint16_t* out, int64_t N, int64_t K, int64_t a, int64_t b, const int two, const int MC) {
    const int C = q8 ? 4 : 1;   /* channels per unit */
    dots512(x, w, q8, scale, out, N, K, 0, MC, a * C, b * C, C, two ? 2 * C : C);
}

/*
 * 1-4 rows against row-major bf16 weights, or (q8) blocked int8 (N % 4 == 0, K % 32 == 0; linear_boxed sends 1-2
 * rows: more would hold 24-32 accumulators): decode of a few sequences, where the weights' bytes are the whole cost.
 * Each thread walks each run of units it takes (take_run) as two sequential streams, its halves, one unit of each at
 * a time.
 * block512's four channels side by side are four streams of one row each (4 KiB where K = 2,048), which the hardware's
 * prefetch picks up anew at every row. Harness, one row through the 112 linears of 16 layers of the 1B shape,
 * interleaved, medians (Zen 5, 2 cores): bf16 58.4 and 64.7 GB/s four channels side by side, 57.2 and 67.1 one channel
 * at a time, 69.2 and 78.1 two streams far apart; int8 51.6 -> 56.9 (one row), 40.4 -> 47.4 (two).
 */
T512 static inline __attribute__((always_inline)) void few512(const uint16_t* x, const void* w, const int q8,
        const uint16_t* scale, uint16_t* out, int64_t M, int64_t N, int64_t K, int64_t* next) {
    int64_t c0, c1;   /* called by each thread of a parallel region, with a constant q8 (inside the region: a
                         region's body is a function of its own, where a q8 from outside is no constant) */
    while (take_run(next, q8 ? N / 4 : N, FEW_RUN_LEAST, &c0, &c1)) {
        const int64_t half = (c1 - c0 + 1) / 2;
        for (int64_t i = 0; i < half; i++) {
            const int64_t a = c0 + i, b = c0 + half + i;
#define PAIRS(MC)                                                                                          \
    do {                                                                                                   \
        if (b < c1) pair512(x, w, q8, scale, out, N, K, a, b, 1, MC);                                      \
        else pair512(x, w, q8, scale, out, N, K, a, a, 0, MC);                                             \
    } while (0)
            switch (M) {
                case 4: PAIRS(4); break;
                case 3: PAIRS(3); break;
                case 2: PAIRS(2); break;
                default: PAIRS(1); break;
            }
#undef PAIRS
        }
    }
}

T512 static void few512_bf16(const uint16_t* x, const void* w, const uint16_t* scale, uint16_t* out, int64_t M,
                             int64_t N, int64_t K) {
    int64_t next = 0;
#pragma omp parallel
    few512(x, w, 0, scale, out, M, N, K, &next);
}

T512 static void few512_int8(const uint16_t* x, const void* w, const uint16_t* scale, uint16_t* out, int64_t M,
                             int64_t N, int64_t K) {
    int64_t next = 0;
#pragma omp parallel
    few512(x, w, 1, scale, out, M, N, K, &next);
}

/*
 * Several rows (decode steps of many sequences, prefill chunks): tiles of GEMM_MC rows x GEMM_NC channels whose
 * bf16 weights lie row-major at w (row stride K), GEMM_MC x GEMM_NC dot products per GEMM_MC + GEMM_NC loads (24
 * accumulators, 6 weights and one row in registers), over inputs k0 .. k1-1. A group's weights over GEMM_KB
 * inputs (6 x 2,048 bf16, 24 KiB) stay in L1 while every tile of rows multiplies from them, the accumulators
 * kept in part [rows][channels] between blocks of inputs, so that every sum is added up in the order block512's
 * are: a row's outputs do not depend on how many rows the call has (a sequence decoding alone or among others
 * gets the same logits). pf, where given, is the next group's weights: each tile of rows prefetches its share
 * of them (channels pc0 .. pc1-1 over this block of inputs), so that the next group streams in from memory
 * evenly under this group's arithmetic. The shape was measured (docs/native-cpu-kernels.md): 4 x 6 tiles with the
 * prefetch spread over the tiles ran 16 rows 10-20 % faster than 2 x 8 tiles prefetching in the first one.
 * The prefetch goes to L2, not L1 (GEMM_PF_HINT), and takes every other 64-byte line, the first of each 128-byte
 * aligned pair (the L2's adjacent-line prefetch fetches the other): the next group's 24 KiB prefetched into L1
 * evicted this group's weights and rows there (a Zen 4 has 32 KiB of L1), and the tiles read them again from L2.
 * The pairs are the memory's, not the row's: libtorch's large tensors start 64 bytes past a page, where every other
 * line counted from the row's start ran as slowly as no prefetch. Harness, 16 rows through the 113 linears of the
 * 1B shape from memory, interleaved, AMD EPYC Zen 4, 2 cores, weights at a page (+ 64 bytes): into L1 at every line
 * 165-168 (171-174) ms, into L2 at every line 138-141 (143-152), at every other line from the row's start 133-138
 * (152-156), at the first line of each pair 131-136 (136-137), none 141-144 (149-152); the same outputs.
 * K % 32 == 0.
 */
#define GEMM_PF_HINT _MM_HINT_T1
#define GEMM_PF_AHEAD 8   /* gemm_pf_l1: steps of 32 inputs the first tile of a group prefetches its rows ahead */
#define GEMM_MC 4
#define GEMM_NC 6
#define GEMM_KB 2048
#define GEMM_ROWS 64    /* rows whose sums part holds */
/*
 * Where the L1 data cache holds 48 KiB or more (Zen 5, recent Xeons), the next group's weights go into L1 at every
 * line instead, and the first tile of each group prefetches its own rows GEMM_PF_AHEAD steps ahead into L1 as well.
 * Harness, 16 rows through the 113 linears of the 1B shape from memory, AMD EPYC Zen 5 (48 KiB L1), 2 cores,
 * alternated, four rounds: 94-104 ms against 112-123 with the L2 pairs (into L1 at every line without the first
 * tile's own prefetch 99-108); the same outputs. On a Zen 4 (32 KiB) the L1 prefetch was the slowest choice (above).
 * gemm_prefetch(force) switches it (tests, benchmarks); tile_w8a8 and gemm512_int8 follow it too, and so does
 * w8_few's prefetch of each block's successor.
 */
static int gemm_pf_l1;

/* a line of the next group's weights at p: into L1 where l1 (gemm_pf_l1), else into L2 (GEMM_PF_HINT) */
static inline __attribute__((always_inline)) void prefetch_next(const char* p, const int l1) {
    if (l1) _mm_prefetch(p, _MM_HINT_T0);
    else _mm_prefetch(p, GEMM_PF_HINT);
}
#define GEMM_GROUP 12   /* the most channels of one group (int8: three blocks of four, widened together) */
/*
 * The sums of 16 accumulators at once: lane 4i + j holds the sum of the 16 lanes of in[4j + i], added up in exactly
 * _mm512_reduce_add_ps's order (lane l + lane l+8, then l + l+4 of those, then (0, 2) and (1, 3), then the two), so
 * that it equals 16 such reductions bit for bit: 15 adds and 30 shuffles in a tree, where 16 reductions take some
 * 110 operations, most of them on the shuffle port that the dot products' loads share. Each level pairs two
 * vectors whose lanes hold partial sums of different accumulators; no lane ever adds two accumulators together.
 */
T512 static inline __attribute__((always_inline)) __m512 reduce16(const __m512 in[16]) {
    /* the tree leaves in[q]'s sum at lane 4 (q % 4) + q / 4: a caller lists a_i[j] at q = 4j + i */
    __m512 x[8], z[4], u[2];
    for (int p = 0; p < 8; p++)   /* 256-bit half h: in[2p + h]'s lanes l + l+8 (l < 8) */
        x[p] = _mm512_add_ps(_mm512_shuffle_f32x4(in[2 * p], in[2 * p + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_f32x4(in[2 * p], in[2 * p + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    for (int p = 0; p < 4; p++)   /* 128-bit quarter r: in[4p + r]'s l + l+4 of those (l < 4) */
        z[p] = _mm512_add_ps(_mm512_shuffle_f32x4(x[2 * p], x[2 * p + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(x[2 * p], x[2 * p + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    for (int p = 0; p < 2; p++)   /* quarter r: (0 + 2, 1 + 3) of in[8p + r], then of in[8p + 4 + r] */
        u[p] = _mm512_add_ps(_mm512_shuffle_ps(z[2 * p], z[2 * p + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(z[2 * p], z[2 * p + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    /* quarter r: the sums of in[r], in[4 + r], in[8 + r], in[12 + r] */
    return _mm512_add_ps(_mm512_shuffle_ps(u[0], u[1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_ps(u[0], u[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

/*
 * A 4-row tile's sums of its channels c .. c+3 (c + 3 < NC; with `two`, only c, c+1: the others repeat them, their
 * lanes left unstored) -> out, as store() writes each: times the channel's scale (q8), rounded to bf16.
 */
T512 static inline __attribute__((always_inline)) void store4x4(__m512 acc[][GEMM_NC], const int c, const int two,
        const int q8, const uint16_t* scale, uint16_t* out, int64_t N, int64_t m0, int64_t n) {
    __m512 in[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) in[4 * j + i] = acc[i][c + (two ? j % 2 : j)];
    __m512 y = reduce16(in);   /* lane 4i + j: row i, channel n + j */
    if (q8) {   /* lane 4i + j times channel n + j's scale */
        uint16_t s[16] = {0};
        for (int l = 0; l < 16; l++)
            if (!two || l % 4 < 2) s[l] = scale[n + l % 4];
        y = _mm512_mul_ps(y, bf16x16_f32(s));
    }
    uint64_t rows[4];   /* row i's four bf16 */
    _mm256_storeu_si256((__m256i*) rows, f32x16_bf16(y));
    for (int i = 0; i < 4; i++) memcpy(out + (m0 + i) * N + n, &rows[i], two ? 4 : 8);
}

T512 static inline __attribute__((always_inline)) void tile512(const uint16_t* x, const uint16_t* w,
        const uint16_t* pf, int64_t pc0, int64_t pc1, const int q8, const uint16_t* scale, uint16_t* out,
        __m512* part, int64_t N, int64_t K, int64_t k0, int64_t k1, int64_t m0, int64_t n0, const int MC,
        const int NC, const int first_tile) {
    __m512 acc[GEMM_MC][GEMM_NC];
    for (int i = 0; i < MC; i++)
        for (int j = 0; j < NC; j++)
            acc[i][j] = k0 > 0 ? part[(m0 % GEMM_ROWS + i) * GEMM_GROUP + j] : _mm512_setzero_ps();
    const int l1 = gemm_pf_l1, first = !q8 && first_tile;   /* q8: w is the widened scratch, in cache */
    for (int64_t k = k0; k < k1; k += 32) {
        __m512bh wv[GEMM_NC];
        for (int j = 0; j < NC; j++) wv[j] = (__m512bh) _mm512_loadu_si512(w + j * K + k);
        if (l1 && first && k + GEMM_PF_AHEAD * 32 < k1)   /* the first tile's own rows, ahead */
            for (int j = 0; j < NC; j++) _mm_prefetch((const char*) (w + j * K + k + GEMM_PF_AHEAD * 32), _MM_HINT_T0);
        for (int64_t j = pc0; j < pc1; j++) {   /* l1: every line into L1; else every other line into L2, the first
                                                   of each 128 bytes */
            const char* p = (const char*) (pf + j * K + k);
            if (l1 || ((uintptr_t) p & 127) == 0) prefetch_next(p, l1);
        }
        for (int i = 0; i < MC; i++) {
            const __m512bh xv = (__m512bh) _mm512_loadu_si512(x + (m0 + i) * K + k);
            for (int j = 0; j < NC; j++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], wv[j], xv);
        }
    }
    if (k1 == K && MC == 4 && NC >= 4) {   /* the tile's sums in trees of 16 (reduce16) */
        store4x4(acc, 0, 0, q8, scale, out, N, m0, n0);
        if (NC == 6) store4x4(acc, 4, 1, q8, scale, out, N, m0, n0 + 4);
        return;
    }
    for (int i = 0; i < MC; i++) {
        for (int j = 0; j < NC; j++) {
            if (k1 == K) store(out, N, m0 + i, n0 + j, _mm512_reduce_add_ps(acc[i][j]), q8, scale);
            else part[(m0 % GEMM_ROWS + i) * GEMM_GROUP + j] = acc[i][j];
        }
    }
}

/*
 * rows m0 .. m1-1 against NC channels: tiles of GEMM_MC rows, then the last (m1 - m0) % GEMM_MC rows; where rev, the
 * same tiles from the last to the first (group512). The first tile of the pass prefetches its own weights ahead
 * (gemm_pf_l1).
 */
#define TILE_AT(MC, NC)                                                                                        \
    tile512(x, w + c * K, pf, pc0, pc1, q8, scale, out, part + c, N, K, k0, k1, m, n0 + c, MC, NC, q == 0)
#define TILE_ROWS(NC)                                                                                          \
    do {                                                                                                       \
        const int64_t full = (m1 - m0) / GEMM_MC, tiles = full + ((m1 - m0) % GEMM_MC != 0);                   \
        for (int64_t q = 0; q < tiles; q++, t++) {                                                             \
            const int64_t i = rev ? tiles - 1 - q : q, m = m0 + i * GEMM_MC;                                   \
            const int64_t pc0 = t * pnc / nt, pc1 = (t + 1) * pnc / nt;                                       \
            switch (i < full ? GEMM_MC : m1 - m) {                                                             \
                case GEMM_MC: TILE_AT(GEMM_MC, NC); break;                                                     \
                case 3: TILE_AT(3, NC); break;                                                                 \
                case 2: TILE_AT(2, NC); break;                                                                 \
                default: TILE_AT(1, NC); break;                                                                \
            }                                                                                                  \
        }                                                                                                      \
    } while (0)

/*
 * All M rows against one group of channels n0 .. n0+nc-1 (nc <= GEMM_GROUP), weights row-major at w; pf (or
 * NULL) the next group's pnc channels, prefetched a share per tile. rev: the blocks of rows, and the tiles of each,
 * from the last to the first, so that a run's groups walk the rows back and forth (gemm512_bf16) and each starts on
 * the rows of x that the one before ended on, still in L1. Which tile goes first changes no sum.
 */
T512 static void group512(const uint16_t* x, const uint16_t* w, const uint16_t* pf, int64_t pnc, int q8,
                          const uint16_t* scale, uint16_t* out, int64_t M, int64_t N, int64_t K, int64_t n0,
                          int64_t nc, const int rev) {
    __m512 part[GEMM_ROWS * GEMM_GROUP];   /* 48 KiB */
    if (pf == NULL) pnc = 0;
    const int64_t blocks = (M + GEMM_ROWS - 1) / GEMM_ROWS;
    for (int64_t b = 0; b < blocks; b++) {
        const int64_t r0 = (rev ? blocks - 1 - b : b) * GEMM_ROWS;
        const int64_t m0 = r0, m1 = M - r0 < GEMM_ROWS ? M : r0 + GEMM_ROWS;
        const int64_t rowTiles = (m1 - m0 + GEMM_MC - 1) / GEMM_MC;
        const int64_t r = nc % GEMM_NC, nt = rowTiles * (nc / GEMM_NC + (r >= 4) + (r % 4 >= 2) + r % 2);   /* tiles */
        for (int64_t k0 = 0; k0 < K; k0 += GEMM_KB) {
            const int64_t k1 = K - k0 < GEMM_KB ? K : k0 + GEMM_KB;
            int64_t t = 0, c = 0;   /* tiles so far (each prefetches its share of pf), channels so far */
            for (; c + GEMM_NC <= nc; c += GEMM_NC) TILE_ROWS(GEMM_NC);
            if (nc - c >= 4) { TILE_ROWS(4); c += 4; }   /* the last channels where nc % GEMM_NC != 0 */
            if (nc - c >= 2) { TILE_ROWS(2); c += 2; }
            if (nc - c >= 1) { TILE_ROWS(1); c += 1; }
        }
    }
}

/*
 * The rows of a several-row bf16 call, in tiles whose inputs stay in L2 while every group of channels passes them:
 * about GEMM_X_TILE_BYTES of x a tile (128 rows where K = 2,048, 32 where K = 8,192, at least 16), the rows split
 * evenly among M / that many tiles; one tile (all M rows) below twice that. Without the tiles a prefill chunk's
 * every group read all of x again from memory (2,048 rows x 2,048 inputs: 8 MiB a group). Harness, AMD EPYC Zen 5,
 * 2 cores, weights from memory, best of 3, three rounds (outputs the same, bit for bit): 2,048 rows against 8,192 x
 * 2,048 132.5 ms -> 101-104 (tiles of 64-128), against 2,048 x 8,192 345.6 -> 128.5 (tiles of 32); 512 rows 31.6 ->
 * 27.4 and 40.0 -> 35.9; 1,024 rows 59.9 -> 49.7 and 111.5 -> 63.9; 64 rows against 2,048 x 8,192 4.5 -> 4.0 (two
 * tiles of 32), 48 rows 3.1 as one tile against 3.3 in two.
 */
#define GEMM_X_TILE_BYTES (512 * 1024)
static int64_t gemm_row_tile(int64_t M, int64_t K) {
    int64_t rows = GEMM_X_TILE_BYTES / (2 * K);
    rows -= rows % GEMM_MC;
    if (rows < 16) rows = 16;
    if (M < 2 * rows) return M;
    const int64_t tiles = M / rows;
    rows = (M + tiles - 1) / tiles;
    return rows + (GEMM_MC - rows % GEMM_MC) % GEMM_MC;
}

/*
 * Per-thread scratch, kept between calls (fresh pages cost a fault each) and freed when its thread ends (a pthread
 * key's destructor), so that threads that come and go leave nothing behind. Its slots: a call's rows, quantized or
 * laid out in pairs for AMX tiles, taken by the calling thread (w8_scratch); amx8_rows' copy of a group's weights,
 * taken by each thread of its region; decoder_layer's activations of many rows (layer_work); the prefill attention's
 * sums of every thread (decode_attention_run), taken by the calling thread; gemm512_bf16's copy of its rows
 * (rows_apart).
 */
enum { SCRATCH_ROWS, SCRATCH_AMX8_GROUP, SCRATCH_LAYER, SCRATCH_ATTENTION, SCRATCH_APART, SCRATCH_SLOTS };
typedef struct {
    int8_t* buf[SCRATCH_SLOTS];
    int64_t capacity[SCRATCH_SLOTS];
} ThreadScratch;
static pthread_key_t scratch_key;
static pthread_once_t scratch_key_once = PTHREAD_ONCE_INIT;

static void scratch_free(void* p) {
    ThreadScratch* s = (ThreadScratch*) p;
    for (int i = 0; i < SCRATCH_SLOTS; i++) free(s->buf[i]);
    free(s);
}

static void scratch_key_create(void) {
    pthread_key_create(&scratch_key, scratch_free);
}

/* this thread's scratch `slot` (SCRATCH_...) of at least need bytes; NULL where memory cannot be had */
static int8_t* thread_scratch(int slot, int64_t need) {
    pthread_once(&scratch_key_once, scratch_key_create);
    ThreadScratch* s = (ThreadScratch*) pthread_getspecific(scratch_key);
    if (s == NULL) {
        s = (ThreadScratch*) calloc(1, sizeof(ThreadScratch));
        if (s == NULL || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (need > s->capacity[slot]) {
        int8_t* grown = (int8_t*) realloc(s->buf[slot], (size_t) need);
        if (grown == NULL) return NULL;
        s->buf[slot] = grown;
        s->capacity[slot] = need;
    }
    return s->buf[slot];
}

/*
 * gemm512_bf16's rows of x copied, before it multiplies, where their lines and the weights' fall in the same sets of a
 * 32 KiB, 8-way L1 (Zen 2-4, Intel before Ice Lake). Where a row holds a multiple of 4 KiB (K = 2,048, 4,096, 8,192,
 * 14,336), every row of x and of the weights starts at one offset within 4 KiB, so a tile's 6 weight lines and 4 row
 * lines at each step of 32 inputs share a set where x lies within 1 KiB of the weights' offset, and evict each other.
 * The copy puts x 2 KiB from it; only where the rows lie changes, not a sum. A prefill chunk's activations (the
 * block decoder_layer keeps) lay within 256 bytes of it; that block is now placed apart as well (layer_work), and
 * the copy is for the other callers (lm_head's rows, the unfused script's ops). Measured on an AMD EPYC Zen 4 (2
 * cores, 32 KiB L1d; docs/native-cpu-kernels.md): group512 alone on one core, 128 rows x 6 channels x 2,048 inputs
 * from L2, x 0 or 64 bytes from the weights' offset 2.64-2.99 G vdpbf16ps/s, 1-3 KiB from it 3.11-3.47 (in one
 * round of three all alike, 3.43-3.49); the 113 linears of the 1B shape from memory at 128 rows, 347-375 GFLOP/s
 * against 377-391; the bench (`--only kernels,ttft`, two pairs alternated): prefill of 512 tokens 160.9-163.3 tok/s
 * against 136.9-153.6 without the copy, TTFT at 2,048 tokens 13.9 s against 15.3-15.4. gemm_apart: 1 where within
 * 1 KiB (the default), 2 always, 0 never (gemm_apart(force): tests).
 */
static int gemm_apart = 1;

/* the first line at or past the byte of base that lies 2 KiB from other's offset within 4 KiB (base: 4 KiB and a line
   of room): where rows_apart copies the rows, and where gemm512_int8 widens its groups of weights */
#define APART_ROOM (4096 + 64)
static void* apart_from(void* base, const void* other) {
    const uintptr_t p = (uintptr_t) base + (((uintptr_t) other + 2048 - (uintptr_t) base) & 4095);
    return (void*) ((p + 63) & ~(uintptr_t) 63);
}

static const uint16_t* rows_apart(const uint16_t* x, const void* w, int64_t M, int64_t K) {
    const uintptr_t at = ((uintptr_t) x - (uintptr_t) w) & 4095, from = at < 2048 ? at : 4096 - at;   /* bytes */
    if (gemm_apart == 0 || (gemm_apart == 1 && ((K * 2) % 4096 != 0 || from >= 1024))) return x;
    int8_t* p = thread_scratch(SCRATCH_APART, M * K * 2 + APART_ROOM);
    if (p == NULL) return x;   /* no memory: the rows where they are, the same sums */
    uint16_t* y = (uint16_t*) apart_from(p, w);
    memcpy(y, x, (size_t) (M * K * 2));
    return y;
}

/*
 * several rows against row-major bf16 weights, K % 32 == 0: tiles of rows (gemm_row_tile), each against every group
 * of GEMM_NC channels, every other group of a run
 * walking the rows from the last tile to the first (group512's rev). x's rows do not stay in L1 from one group to
 * the next beyond 4 of them (16 rows are 64 KiB at K = 2,048), and each group read them all again from L2, the
 * tiles' L1 misses waiting behind the next group's weights streaming in: so the last tile's rows are the next
 * group's first. Harness, the 113 linears of the 1B shape from memory, AMD EPYC Zen 5, 2 cores, alternated: 16 rows
 * 91.2-93.5 ms against 96.5-100.7, 64 rows 292 against 298-301, 8 rows inside the noise; the same outputs
 * (docs/native-cpu-kernels.md, "Every other group of channels walks the rows back").
 */
T512 static void gemm512_bf16(const uint16_t* x, const void* w, const uint16_t* scale, uint16_t* out, int64_t M,
                              int64_t N, int64_t K) {
    (void) scale;
    x = rows_apart(x, w, M, K);
    const uint16_t* wb = (const uint16_t*) w;
    const int64_t groups = (N + GEMM_NC - 1) / GEMM_NC, rows = gemm_row_tile(M, K), tiles = (M + rows - 1) / rows;
    int64_t next[tiles];   /* each tile of rows' runs of groups (take_run) */
    for (int64_t t = 0; t < tiles; t++) next[t] = 0;
#pragma omp parallel
    for (int64_t t = 0; t < tiles; t++) {
        const int64_t m0 = t * rows, m = M - m0 < rows ? M - m0 : rows;
        int64_t g0, g1;
        while (take_run(&next[t], groups, GEMM_RUN_LEAST, &g0, &g1)) {
            for (int64_t g = g0; g < g1; g++) {   /* each prefetching the next group of its run */
                const int64_t n0 = g * GEMM_NC, nc = N - n0 < GEMM_NC ? N - n0 : GEMM_NC;
                const int64_t pn0 = n0 + GEMM_NC, pnc = N - pn0 < GEMM_NC ? N - pn0 : GEMM_NC;
                group512(x + m0 * K, wb + n0 * K, g + 1 < g1 ? wb + pn0 * K : NULL, pnc, 0, scale, out + m0 * N, m, N,
                         K, n0, nc, (g - g0) % 2);
            }
        }
    }
}

/*
 * Several rows against blocked int8 (N % 4 == 0, K % 32 == 0): rows in tiles of ROW_TILE (a tile of x stays in
 * L2), and per tile each group of GEMM_GROUP channels is widened once into a per-thread row-major bf16 scratch
 * [GEMM_GROUP][K], which group512 multiplies every tile of rows from, while the next group's int8 is prefetched into
 * L2 (6-13 % at 16 rows, 13-30 % at 8, in Int8KernelBenchmark's harness: a block crosses 4 KiB pages, where the
 * hardware's prefetch stops), into L1 where the bf16 tiles' goes there (gemm_pf_l1: 48 KiB of L1; Zen 5, harness,
 * the 1B shape's linears from memory, switched every round: 16 rows 95-98 ms against 103-107, 8 rows 66-68 against
 * 74-78, 5 rows 62-66 against 68-73, 32 rows 152-156 against 154-160). The scratch lies 2 KiB from x's offset within
 * 4 KiB (apart_from, for rows_apart's reason; before, wherever malloc put it): harness, AMD EPYC Zen 4, the 1B shape's
 * linears from memory, x a page and 64 bytes in: 128 rows 860-862 ms against 920-929 with the scratch at x's offset
 * (two rounds), 16 rows 157-165 against 158-174 (three); the bench's int8 section did not tell the two apart.
 */
#define ROW_TILE 64
T512 static void gemm512_int8(const uint16_t* x, const void* w, const uint16_t* scale, uint16_t* out, int64_t M,
                              int64_t N, int64_t K) {
    const int8_t* qb = (const int8_t*) w;
    const int64_t groups = (N + GEMM_GROUP - 1) / GEMM_GROUP, tiles = (M + ROW_TILE - 1) / ROW_TILE;
    int64_t next[tiles];   /* each tile of rows' runs of groups (take_run) */
    for (int64_t t = 0; t < tiles; t++) next[t] = 0;
#pragma omp parallel
    {
        void* room = malloc((size_t) K * GEMM_GROUP * sizeof(uint16_t) + APART_ROOM);
        uint16_t* wb = room == NULL ? NULL : (uint16_t*) apart_from(room, x);   /* 2 KiB from x's rows (rows_apart) */
        for (int64_t t0 = 0; t0 < M; t0 += ROW_TILE) {
            const int64_t t1 = M - t0 < ROW_TILE ? M : t0 + ROW_TILE;
            int64_t g0, g1;
            while (take_run(&next[t0 / ROW_TILE], groups, GEMM_RUN_LEAST, &g0, &g1)) {
                for (int64_t g = g0; g < g1; g++) {
                    const int64_t n0 = g * GEMM_GROUP;
                    const int64_t nc = N - n0 < GEMM_GROUP ? N - n0 : GEMM_GROUP;   /* nc % 4 == 0 */
                    if (wb == NULL) {   /* no scratch (out of memory): widen per group of rows instead */
                        for (int64_t b = n0; b < n0 + nc; b += 4) {
                            int64_t m0 = t0;
                            for (; m0 + 4 <= t1; m0 += 4) block512(x, w, 1, scale, out, N, K, m0, b, 4, 4);
                            for (; m0 < t1; m0++) block512(x, w, 1, scale, out, N, K, m0, b, 1, 4);
                        }
                        continue;
                    }
                    widen_channels512(qb, wb, n0, nc, K);
                    if (g + 1 < g1) {   /* the next group of the run: its int8 (contiguous) into L2 (L1: gemm_pf_l1)
                                           under this group's arithmetic */
                        const int64_t pn = N - n0 - nc < GEMM_GROUP ? N - n0 - nc : GEMM_GROUP;
                        const char* p = (const char*) (qb + blocked(n0 + nc, 0, K));
                        const int l1 = gemm_pf_l1;
                        for (int64_t l = 0; l < pn * K; l += 64) prefetch_next(p + l, l1);
                    }
                    group512(x + t0 * K, wb, NULL, 0, 1, scale, out + t0 * N, t1 - t0, N, K, n0, nc, 0);
                }
            }
        }
        free(room);
    }
}
