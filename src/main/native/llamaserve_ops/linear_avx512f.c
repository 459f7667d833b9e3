/* llamaserve_ops.c's part: AVX-512F, the bf16 and int8 linears of CPUs with AVX-512 but not its BF16 dot products (Ice
 * Lake, Cascade Lake and Skylake servers): float32 multiply-adds 16 wide, where the AVX2 bodies take 8.
 * Included by llamaserve_ops.c, in its order (one translation unit), not compiled alone. */

/*
 * Whether ISA_AVX2's linears run on linear512f_bf16 rather than linear256_bf16 (K % 32 == 0) and on linear512f_int8
 * rather than gemv256_int8 (and rms_norm, silu_mul and rope_kv on their 16-lane bodies: norm_silu_rope.c's lanes16):
 * by default where the CPU has AVX-512 F/BW/VL/DQ (avx512f_ready); avx512f(force) switches them (tests: both bodies
 * on one CPU). Each body adds up in one order for every count of rows, its own: the two differ from each other
 * within bf16's rounding.
 */
static int avx512f_ready, avx512f_linear;

/* 32 bf16 at p -> the float32 of the even ones (their words shifted up) and of the odd ones (masked): exact */
T512B static inline __attribute__((always_inline)) void bf16x32_even_odd(const uint16_t* p, __m512* e, __m512* o) {
    const __m512i v = _mm512_loadu_si512(p);
    *e = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
    *o = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32((int) 0xffff0000u)));
}

/*
 * Rows m0 .. m0+MR-1 of x against channels n0 .. n0+NC-1 of w (MR, NC <= 4), both widened here: one accumulator per
 * row and channel, each step of 32 inputs adding the products of the even inputs then those of the odd ones, the
 * 16 lanes added up at the end (_mm512_reduce_add_ps): the one order, whatever MR and NC. A step of a 4 x 4 tile
 * takes 8 loads, 16 shifts and masks and 32 multiply-adds, the 16 accumulators and 8 weights in registers. pf: the
 * next group's channels pc0 .. pc1-1 (row stride K), a line of each prefetched into L2 a step while this tile runs.
 */
T512B static inline __attribute__((always_inline)) void tile512f(const uint16_t* x, const uint16_t* w, uint16_t* out,
        int64_t N, int64_t K, int64_t m0, int64_t n0, const uint16_t* pf, int64_t pc0, int64_t pc1, const int MR,
        const int NC) {
    __m512 acc[4][4];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NC; j++) acc[i][j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 32) {
        __m512 we[4], wo[4];
        for (int j = 0; j < NC; j++) bf16x32_even_odd(w + (n0 + j) * K + k, &we[j], &wo[j]);
        for (int64_t j = pc0; j < pc1; j++) _mm_prefetch((const char*) (pf + j * K + k), _MM_HINT_T1);
        for (int i = 0; i < MR; i++) {
            __m512 xe, xo;
            bf16x32_even_odd(x + (m0 + i) * K + k, &xe, &xo);
            for (int j = 0; j < NC; j++) {
                acc[i][j] = _mm512_fmadd_ps(we[j], xe, acc[i][j]);
                acc[i][j] = _mm512_fmadd_ps(wo[j], xo, acc[i][j]);
            }
        }
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NC; j++) store(out, N, m0 + i, n0 + j, _mm512_reduce_add_ps(acc[i][j]), 0, NULL);
}

#define F512_ROWS_BYTES (512 * 1024)   /* rows of a pass over the weights: 128 where K = 2,048, 32 where K = 8,192 */

/* the rows of a pass of the AVX-512F linears (F512_ROWS_BYTES of bf16 rows of K inputs), a multiple of 4, at least 4 */
static inline int64_t f512_pass(int64_t K) {
    const int64_t pass = F512_ROWS_BYTES / (2 * K);
    return pass < 4 ? 4 : pass - pass % 4;
}

/*
 * AVX-512F's bf16 linear, for every count of rows (K % 32 == 0): for each pass of rows (F512_ROWS_BYTES of their
 * bf16, in L2), the channels in groups of 4 (16 KiB of weights where K = 2,048, in L1 while every tile of 4 rows
 * passes them), each thread taking runs of groups (take_run) and prefetching the next group of its run under this
 * one's tiles. A row's sums do not depend on the rows beside it. Harness (docs/native-cpu-kernels.md, "AVX-512
 * without BF16"), the 113 linears of the 1B shape from memory, Intel Xeon Ice Lake (2 cores), alternated with
 * linear256_bf16: 16 rows 213-225 ms against 412-469, one row 95-98 against 111-112. Rows widened once into a
 * float32 copy (no shift or mask of x in the loop, 8 fewer operations a step) ran slower, 309-317 ms: 4 rows of
 * float32 take 32 KiB of the 48 KiB L1, and the tiles read them again from L2.
 */
T512B static void linear512f_bf16(const uint16_t* x, const void* wv, const uint16_t* scale, uint16_t* out, int64_t M,
                                  int64_t N, int64_t K) {
    (void) scale;
    const uint16_t* w = (const uint16_t*) wv;
    const int64_t pass = f512_pass(K);
    const int64_t groups = (N + 3) / 4;
    for (int64_t r0 = 0; r0 < M; r0 += pass) {
        const int64_t r1 = M - r0 < pass ? M : r0 + pass, tiles = (r1 - r0 + 3) / 4;
        int64_t next = 0;
#pragma omp parallel
        {
            int64_t g0, g1;
            while (take_run(&next, groups, FEW_RUN_LEAST / 4, &g0, &g1))
                for (int64_t g = g0; g < g1; g++) {
                    const int64_t n0 = 4 * g, nc = N - n0 < 4 ? N - n0 : 4;
                    const int64_t pn0 = g + 1 < g1 ? n0 + 4 : n0, pnc = g + 1 < g1 ? (N - pn0 < 4 ? N - pn0 : 4) : 0;
                    for (int64_t q = 0; q < tiles; q++) {
                        const int64_t m0 = r0 + 4 * q, mr = r1 - m0 < 4 ? r1 - m0 : 4;
                        const int64_t pc0 = q * pnc / tiles, pc1 = (q + 1) * pnc / tiles;
#define F512_TILE(MR, NC) tile512f(x, w, out, N, K, m0, n0, w + pn0 * K, pc0, pc1, MR, NC)
#define F512_ROWS(NC)                                                                                          \
    do {                                                                                                       \
        switch (mr) {                                                                                          \
            case 4: F512_TILE(4, NC); break;                                                                   \
            case 3: F512_TILE(3, NC); break;                                                                   \
            case 2: F512_TILE(2, NC); break;                                                                   \
            default: F512_TILE(1, NC); break;                                                                  \
        }                                                                                                      \
    } while (0)
                        switch (nc) {
                            case 4: F512_ROWS(4); break;
                            case 3: F512_ROWS(3); break;
                            case 2: F512_ROWS(2); break;
                            default: F512_ROWS(1); break;
                        }
#undef F512_ROWS
#undef F512_TILE
                    }
                }
        }
    }
}

/* 32 int8 at p (the 32 inputs of one channel in the blocked layout) -> float32 of the first 16 (a) and the last (b) */
T512B static inline __attribute__((always_inline)) void int8x32_halves(const int8_t* p, __m512* a, __m512* b) {
    *a = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*) p)));
    *b = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*) (p + 16))));
}

/* 32 bf16 at p -> float32 of the first 16 (a) and the last (b): the inputs in the blocked int8 layout's order */
T512B static inline __attribute__((always_inline)) void bf16x32_halves(const uint16_t* p, __m512* a, __m512* b) {
    *a = bf16x16_f32(p);
    *b = bf16x16_f32(p + 16);
}

/*
 * Rows m0 .. m0+MR-1 (MR <= 4) of x against the block of int8 channels n0 .. n0+3 (blocked: N % 4 == 0, K % 32 ==
 * 0), both widened here to float32, 16 inputs at a time in order: one accumulator per row and channel, its 16 lanes
 * added up at the end (_mm512_reduce_add_ps), times the channel's scale (store): the one order, whatever MR. A step
 * of 32 inputs: 8 widenings of weights, 8 of rows, 32 multiply-adds. pf: the next block's 4K bytes, prefetched into
 * L2 a share per tile (pc0 .. pc1: lines of 64 bytes).
 */
T512B static inline __attribute__((always_inline)) void tile512f_int8(const uint16_t* x, const int8_t* qb,
        const uint16_t* scale, uint16_t* out, int64_t N, int64_t K, int64_t m0, int64_t n0, const char* pf,
        int64_t pc0, int64_t pc1, const int MR) {
    __m512 acc[4][4];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    const int64_t steps = K / 32, perStep = (pc1 - pc0 + steps - 1) / steps;
    /* pointers stepped by constants, as tile_w8a8's (blocked() at every step: 16 rows 265-301 ms against 251-264,
       the 113 linears of the 1B shape, harness, alternated in one process, Ice Lake Xeon; the same outputs) */
    const int8_t* const wp = qb + blocked(n0, 0, K);   /* the block's step k at wp + 4k, channel j's 32 j after */
    const uint16_t* const xp = x + m0 * K;
    const char* p = pf + pc0 * 64;
    const char* const pEnd = pf + pc1 * 64;
    for (int64_t k = 0; k < K; k += 32) {
        for (int64_t l = 0; l < perStep && p < pEnd; l++, p += 64) _mm_prefetch(p, _MM_HINT_T1);
        __m512 wa[4], wb[4];
        for (int j = 0; j < 4; j++) int8x32_halves(wp + 4 * k + 32 * j, &wa[j], &wb[j]);
        for (int i = 0; i < MR; i++) {
            __m512 xa, xb;
            bf16x32_halves(xp + i * K + k, &xa, &xb);
            for (int j = 0; j < 4; j++) {
                acc[i][j] = _mm512_fmadd_ps(wa[j], xa, acc[i][j]);
                acc[i][j] = _mm512_fmadd_ps(wb[j], xb, acc[i][j]);
            }
        }
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < 4; j++) store(out, N, m0 + i, n0 + j, _mm512_reduce_add_ps(acc[i][j]), 1, scale);
}

/*
 * AVX-512F's int8 linear (AVX2 in use, the AVX-512F body on: avx512f_linear), bf16 rows against blocked int8 weights
 * with their scales, every count of rows: per pass of rows (F512_ROWS_BYTES of their bf16), the blocks of 4 channels
 * handed out in runs (take_run), each block's 4K bytes in L1 while every tile of 4 rows passes them, the next block
 * of the run prefetched under them. A row's sums do not depend on the rows beside it. Where gemv256_int8 took 8
 * lanes: Ice Lake Xeon, figures in docs/native-cpu-kernels.md ("AVX-512 without BF16").
 */
T512B static void linear512f_int8(const uint16_t* x, const void* wv, const uint16_t* scale, uint16_t* out, int64_t M,
                                  int64_t N, int64_t K) {
    const int8_t* qb = (const int8_t*) wv;
    const int64_t pass = f512_pass(K);
    const int64_t blocks = N / 4, lines = 4 * K / 64;
    for (int64_t r0 = 0; r0 < M; r0 += pass) {
        const int64_t r1 = M - r0 < pass ? M : r0 + pass, tiles = (r1 - r0 + 3) / 4;
        int64_t next = 0;
#pragma omp parallel
        {
            int64_t b0, b1;
            while (take_run(&next, blocks, FEW_RUN_LEAST / 4, &b0, &b1))
                for (int64_t b = b0; b < b1; b++) {
                    const char* pf = (const char*) (qb + (b + 1) * 4 * K);   /* blocks lie one after another */
                    const int64_t pl = b + 1 < b1 ? lines : 0;
                    for (int64_t q = 0; q < tiles; q++) {
                        const int64_t m0 = r0 + 4 * q, mr = r1 - m0 < 4 ? r1 - m0 : 4;
                        const int64_t pc0 = q * pl / tiles, pc1 = (q + 1) * pl / tiles;
                        switch (mr) {
                            case 4: tile512f_int8(x, qb, scale, out, N, K, m0, 4 * b, pf, pc0, pc1, 4); break;
                            case 3: tile512f_int8(x, qb, scale, out, N, K, m0, 4 * b, pf, pc0, pc1, 3); break;
                            case 2: tile512f_int8(x, qb, scale, out, N, K, m0, 4 * b, pf, pc0, pc1, 2); break;
                            default: tile512f_int8(x, qb, scale, out, N, K, m0, 4 * b, pf, pc0, pc1, 1); break;
                        }
                    }
                }
        }
    }
}
