/* llamaserve_ops.c's part: AMX tiles (Sapphire Rapids and later): bf16, widened int8 and W8A8.
 * Included by llamaserve_ops.c, in its order (one translation unit), not compiled alone. */

/*
 * ---- AMX (Sapphire Rapids and later): bf16 and int8 weights in tiles ----
 *
 * linear_bf16 (any rows) and linear_int8 (calls amx512_a16 does not take: more than 32 rows, or K % 64 != 0), where
 * the CPU has AMX-BF16 (and the kernel granted this process the tiles' state), N % 16 == 0 and K % 32 == 0: tile A
 * holds 16 channels' 32 inputs in bf16, read as they lie (bf16 weights,
 * row-major: a stride of 2K bytes) or widened from int8 (the blocked layout gives each channel's 32 inputs
 * contiguous), tile B the rows' same 32 inputs as pairs ([16 pairs][rows][2], VNNI's layout: for one row that is
 * x itself, read with a stride of 4 bytes), tile C += A . B is [16 channels][rows] float32 over all K, then scaled
 * and rounded per channel as store() does (scaled: int8). TDPBF16PS does 16 x 16 x 32 multiply-adds per instruction where
 * vdpbf16ps does 16 x 2, so the arithmetic no longer bounds a one-row step: harness, one row through the 112
 * linears of 16 layers of the 1B shape (Xeon with AMX, 2 cores): 36-39 ms, against 58-62 for gemv/few512_int8's
 * widening into vdpbf16ps and 65-67 for bf16 weights. bf16 weights: one row as fast as few512_bf16 (memory), 2-16
 * rows at nearly the one-row time (67 -> 72 ms for 16; gemm512_bf16 177), 64 rows 89 ms.
 *
 * Widening: bf16(|q|) from two 128-entry byte tables (vpermi2b: the low and the high byte), the sign bit put
 * back, the bytes interleaved into words (vpermt2b): widen64 (with the AVX-512 kernels, linear_avx512.c).
 *
 * Each output is one column of C, added up over K in one order whatever the other columns: a row's outputs do not
 * depend on the rows beside it among the calls this kernel takes. The epilogues (amx_store, amx8_store,
 * amx16_store) transpose a C tile and scale, round and store 16 channels at a time, where a scalar loop was: 64 rows
 * x 2,048 x 2,048 widened int8 431 -> 362 us, bf16 390 -> 362, W8A8 321 -> 228 (harness; outputs the same bit for
 * bit). Tile state is per thread; oneDNN (libtorch's GEMMs) configures tiles too: each thread saves the configuration
 * it found and restores it (or releases the tiles) when done.
 */
#define TAMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx512vbmi,amx-tile,amx-bf16")))
#define AMX_ROWS 64      /* rows per pass: four tiles C of 16 columns */
#define AMX_AHEAD 512    /* bytes ahead in each block's stream that a step prefetches (4 steps of 32 inputs) */

static int amx_ready;    /* the CPU has AMX-BF16 and VBMI and this process may use the tiles */
static int amx_int8;     /* ... and AMX-INT8 (linear_w8a8's tiles, linear_int8's 16-bit activations) */
static int amx_tiles;    /* linear_bf16 and linear_int8 take the AMX kernel (amx(force) switches it) */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((packed)) TileConfig;

/*
 * Both AMX kernels' tiles, for calls of `cols` rows (at most 16 per tile): C 0-3 [16 channels][cols] 32-bit, A 4-5
 * [16 channels][64 bytes], B 6-7 [16 pairs or quads][cols] 32-bit. Tile state is per thread and oneDNN uses it too:
 * amx_begin saves the configuration this thread had, amx_end restores it (or releases the tiles).
 */
#define TTILE __attribute__((target("amx-tile")))
TTILE static void amx_begin(TileConfig* saved, int64_t cols) {
    TileConfig cfg;
    _tile_storeconfig(saved);
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 4; t++) {
        cfg.rows[t] = 16;
        cfg.colsb[t] = (uint16_t) (4 * cols);
    }
    cfg.rows[4] = cfg.rows[5] = 16;
    cfg.colsb[4] = cfg.colsb[5] = 64;
    cfg.rows[6] = cfg.rows[7] = 16;
    cfg.colsb[6] = cfg.colsb[7] = (uint16_t) (4 * cols);
    _tile_loadconfig(&cfg);
}

TTILE static void amx_end(const TileConfig* saved) {
    if (saved->palette != 0) _tile_loadconfig(saved);
    else _tile_release();
}

/* tile C j (0-3) -> c, rows 64 bytes apart (a tile's number must be a constant) */
TTILE static void amx_stored_c(int j, void* c) {
    switch (j) {
        case 0: _tile_stored(0, c, 64); break;
        case 1: _tile_stored(1, c, 64); break;
        case 2: _tile_stored(2, c, 64); break;
        default: _tile_stored(3, c, 64); break;
    }
}

/* channels 16g .. 16g+15 over inputs k .. k+31 (four blocks of four) -> a [16][32] bf16, prefetching ahead */
TAMX static inline __attribute__((always_inline)) void widen_group(const Widen* t, const int8_t* qb, int64_t g,
        int64_t k, int64_t K, uint16_t* a) {
    for (int j = 0; j < 4; j++) {
        const int8_t* p = qb + blocked(16 * g + 4 * j, k, K);
        _mm_prefetch((const char*) p + AMX_AHEAD, _MM_HINT_T0);   /* a prefetch past the end never faults */
        _mm_prefetch((const char*) p + AMX_AHEAD + 64, _MM_HINT_T0);
        widen64(t, p, a + 128 * j);
        widen64(t, p + 64, a + 128 * j + 64);
    }
}

/*
 * dst[p][m] = src[m * ld + p] for p, m < 16, rows m >= valid read as zeros: a block of 16 rows' 16 pairs (bf16) or
 * quads (int8) as tile B wants them, [16][16] 32-bit (transpose16_regs)
 */
T512 static inline void transpose16(const uint32_t* src, int64_t ld, int64_t valid, uint32_t* dst) {
    __m512i r[16];
    for (int m = 0; m < 16; m++) r[m] = m < valid ? _mm512_loadu_si512(src + m * ld) : _mm512_setzero_si512();
    transpose16_regs(r);
    for (int p = 0; p < 16; p++) _mm512_store_si512(dst + 16 * p, r[p]);
}

/*
 * The AMX kernels' epilogues: a C tile ([16 channels][16 columns] 32-bit, rows 64 bytes apart) turned into 16
 * output rows of 16 contiguous channels (transpose16), then scaled, rounded and stored 16 at a time, with each
 * element's arithmetic that of store() / tile_w8a8's epilogue (so the outputs are the same bit for bit).
 */
/* float32 C (bf16 or widened int8 weights) -> out rows m0 .. m0+cols-1, channels 16g .. (q8: times their scale) */
T512 static void amx_store(const float* c, int64_t cols, int q8, const uint16_t* scale, uint16_t* out, int64_t N,
                           int64_t m0, int64_t g) {
    uint32_t t[256] __attribute__((aligned(64)));
    transpose16((const uint32_t*) c, 16, 16, t);
    const __m512 sc = q8 ? bf16x16_f32(scale + 16 * g) : _mm512_set1_ps(1.0f);
    for (int64_t m = 0; m < cols; m++) {
        const __m512 y = _mm512_load_ps((const float*) t + 16 * m);
        _mm256_storeu_si256((__m256i*) (out + (m0 + m) * N + 16 * g), f32x16_bf16(q8 ? _mm512_mul_ps(y, sc) : y));
    }
}

/* tile A (4 or 5) <- channels 16g .. 16g+15 over inputs k .. k+31: bf16 rows of w as they lie, or int8 widened */
#define AMX_A(tile, g, buf)                                                                                    \
    do {                                                                                                       \
        if (q8) {                                                                                              \
            widen_group(&t, (const int8_t*) w, g, k, K, buf);                                                  \
            _tile_loadd(tile, buf, 64);                                                                        \
        } else {                                                                                               \
            _tile_loadd(tile, (const uint16_t*) w + 16 * (g) * K + k, 2 * K);                                  \
        }                                                                                                      \
    } while (0)

/*
 * Rows m0 .. m0+rows-1 (rows <= AMX_ROWS) against w (N % 16 == 0, K % 32 == 0): blocked int8 (q8) or row-major
 * bf16; called by every thread of a parallel region. xv: the rows as pairs, [row group][K / 32][16 pairs][16 rows]
 * 32-bit (rows > 1).
 */
TAMX static void amx_rows(const uint16_t* x, const uint32_t* xv, const void* w, const int q8, const uint16_t* scale,
                          uint16_t* out, int64_t m0, int64_t rows, int64_t N, int64_t K) {
    const int64_t groups = N / 16, steps = K / 32, rg = (rows + 15) / 16, cols = rows < 16 ? rows : 16;
    TileConfig saved;
    amx_begin(&saved, cols);   /* C float32, A [16 channels][32] bf16, B [16 pairs][cols][2] bf16 */
    const Widen t = widen_tables();
    uint16_t a0[512] __attribute__((aligned(64))), a1[512] __attribute__((aligned(64)));
    float c[256] __attribute__((aligned(64)));
    /* B for k: x's row itself (one row), else its step's block of xv */
#define AMX_B(r, k)                                                                                            \
    do {                                                                                                       \
        if (rows == 1) _tile_loadd(6, x + m0 * K + (k), 4);                                                    \
        else _tile_loadd(6, xv + (((r) * steps + (k) / 32) << 8), 64);                                         \
    } while (0)
    if (rg == 1) {   /* up to 16 rows: each thread's groups as two streams (stream_halves), a tile C each */
        int64_t c0, c1, half;
        stream_halves(groups, &c0, &c1, &half);
        for (int64_t i = 0; i < half; i++) {
            const int64_t ga = c0 + i, gb = c0 + half + i;
            const int two = gb < c1;
            _tile_zero(0);
            _tile_zero(1);
            for (int64_t k = 0; k < K; k += 32) {
                AMX_B(0, k);
                AMX_A(4, ga, a0);
                _tile_dpbf16ps(0, 4, 6);
                if (two) {
                    AMX_A(5, gb, a1);
                    _tile_dpbf16ps(1, 5, 6);
                }
            }
            _tile_stored(0, c, 64);
            amx_store(c, cols, q8, scale, out, N, m0, ga);
            if (two) {
                _tile_stored(1, c, 64);
                amx_store(c, cols, q8, scale, out, N, m0, gb);
            }
        }
    } else {         /* 17-64 rows: one stream of groups per thread, a tile C per 16 rows */
        const int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
        for (int64_t g = groups * id / nt; g < groups * (id + 1) / nt; g++) {
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (int64_t k = 0; k < K; k += 32) {
                AMX_A(4, g, a0);
                AMX_B(0, k);
                _tile_dpbf16ps(0, 4, 6);
                AMX_B(1, k);
                _tile_dpbf16ps(1, 4, 6);
                if (rg > 2) {
                    AMX_B(2, k);
                    _tile_dpbf16ps(2, 4, 6);
                }
                if (rg > 3) {
                    AMX_B(3, k);
                    _tile_dpbf16ps(3, 4, 6);
                }
            }
            for (int j = 0; j < rg; j++) {
                amx_stored_c(j, c);
                amx_store(c, rows - 16 * j < 16 ? rows - 16 * j : 16, q8, scale, out, N, m0 + 16 * j, g);
            }
        }
    }
#undef AMX_B
#undef AMX_A
    amx_end(&saved);
}

/*
 * Rows 0 .. rows-1 of x32 (ld 32-bit units apart: bf16 pairs or int8 quads) as tile B's blocks, [row group][steps]
 * [16][16] 32-bit, rows past the last of a group's 16 zeros. Called by every thread of a parallel region, which share
 * its loop (and wait for it at its end).
 */
T512 static void amx_pack_rows(const uint32_t* x32, int64_t ld, int64_t rows, int64_t steps, uint32_t* xv) {
    const int64_t rg = (rows + 15) / 16;
#pragma omp for schedule(static)
    for (int64_t b = 0; b < rg * steps; b++) {
        const int64_t r = b / steps, s = b % steps;
        transpose16(x32 + 16 * r * ld + s * 16, ld, rows - 16 * r, xv + (b << 8));
    }
}

/*
 * x [M, K] bf16 against w [N, K]: blocked int8 (q8) or row-major bf16, N % 16 == 0, K % 32 == 0; 0 where the
 * pairs' scratch cannot be had
 */
TAMX static int amx512(const uint16_t* x, const void* w, int q8, const uint16_t* scale, uint16_t* out, int64_t M,
                       int64_t N, int64_t K) {
    const int64_t steps = K / 32, most = M < AMX_ROWS ? M : AMX_ROWS;
    uint32_t* xv = NULL;
    if (M > 1) {   /* [4 row groups][steps][16 pairs][16 rows], 64 bytes a line */
        xv = (uint32_t*) w8_scratch(((most + 15) / 16) * steps * 1024 + 64);
        if (xv == NULL) return 0;
        xv = (uint32_t*) (((uintptr_t) xv + 63) & ~(uintptr_t) 63);
    }
    for (int64_t m0 = 0; m0 < M; m0 += AMX_ROWS) {
        const int64_t rows = M - m0 < AMX_ROWS ? M - m0 : AMX_ROWS;
#pragma omp parallel
        {
            if (rows > 1) amx_pack_rows((const uint32_t*) (x + m0 * K), K / 2, rows, steps, xv);   /* as pairs */
            amx_rows(x, xv, w, q8, scale, out, m0, rows, N, K);
        }
    }
    return 1;
}

/*
 * W8A8 on AMX-INT8 (TDPBSSD: int8 x int8 into int32, 16 x 16 x 64 per instruction, where vpdpbusd does 16 x 4): the
 * rows quantized as gemm512_w8a8 quantizes them, tile A the weights of 16 channels over 64 inputs (two steps of the
 * blocked layout, 256 contiguous bytes per block of four, rearranged into rows of 64), tile B the quantized rows'
 * quads ([16 quads][rows][4]), C the exact int32 sums, then the epilogue of tile_w8a8: y = bf16(float(dot) * s[m] *
 * scale[n]). The sums are exact, so the outputs are those of gemm512_w8a8, bit for bit, whichever kernel a call
 * takes (NativeKernelsTest holds both to the exact reference). Steps of at least AMX_W8A8_ROWS rows; fewer keep
 * the VNNI kernel, which one or two rows' bytes bound anyway. N % 16 == 0, K % 64 == 0.
 */
#define TAMXI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx512vbmi,avx512vnni,amx-tile,amx-int8")))
#define AMX_W8A8_ROWS 4
#define AMX_A8_BLOCK_BYTES (512 * 1024)   /* amx8_rows: the rows' quads kept in L2 while every group passes them */

/* channels 16g .. 16g+15 over inputs k .. k+63 of blocked int8 -> a [16][64] int8 */
TAMXI static inline __attribute__((always_inline)) void gather_group64(const int8_t* qb, int64_t g, int64_t k,
        int64_t K, int8_t* a) {
    for (int j = 0; j < 4; j++) {
        const int8_t* p = qb + blocked(16 * g + 4 * j, k, K);   /* [step k: 4 x 32][step k + 32: 4 x 32] */
        for (int l = 0; l < 4; l++) _mm_prefetch((const char*) p + 2 * AMX_AHEAD + 64 * l, _MM_HINT_T0);
        const __m512i v0 = _mm512_loadu_si512(p), v1 = _mm512_loadu_si512(p + 64);
        const __m512i v2 = _mm512_loadu_si512(p + 128), v3 = _mm512_loadu_si512(p + 192);
        _mm512_store_si512(a + 256 * j, _mm512_shuffle_i64x2(v0, v2, 0x44));        /* channel 4j: k .. k+63 */
        _mm512_store_si512(a + 256 * j + 64, _mm512_shuffle_i64x2(v0, v2, 0xEE));   /* 4j + 1 */
        _mm512_store_si512(a + 256 * j + 128, _mm512_shuffle_i64x2(v1, v3, 0x44));  /* 4j + 2 */
        _mm512_store_si512(a + 256 * j + 192, _mm512_shuffle_i64x2(v1, v3, 0xEE));  /* 4j + 3 */
    }
}

/* int32 C -> out rows m0 .., channels 16g ..: y = bf16(float(dot) * s[m] * scale[n]), as tile_w8a8's epilogue */
T512 static void amx8_store(const int32_t* c, int64_t cols, const float* xs, const uint16_t* scale, uint16_t* out,
                            int64_t N, int64_t m0, int64_t g) {
    uint32_t t[256] __attribute__((aligned(64)));
    transpose16((const uint32_t*) c, 16, 16, t);
    const __m512 sc = bf16x16_f32(scale + 16 * g);
    for (int64_t m = 0; m < cols; m++) {
        const __m512 dot = _mm512_cvtepi32_ps(_mm512_load_si512(t + 16 * m));
        const __m512 y = _mm512_mul_ps(_mm512_mul_ps(dot, _mm512_set1_ps(xs[m0 + m])), sc);
        _mm256_storeu_si256((__m256i*) (out + (m0 + m) * N + 16 * g), f32x16_bf16(y));
    }
}

/*
 * int32 C, cols even: columns 2m and 2m + 1 the high and low bytes' sums of row m0 + m (amx512_a16) -> out rows
 * m0 .., channels 16g ..: y = bf16(join_bytes8(dot_hi, dot_lo) * s[m] * scale[n])
 */
T512 static void amx16_store(const int32_t* c, int64_t cols, const float* xs, const uint16_t* scale, uint16_t* out,
                             int64_t N, int64_t m0, int64_t g) {
    uint32_t t[256] __attribute__((aligned(64)));
    transpose16((const uint32_t*) c, 16, 16, t);
    const __m512 sc = bf16x16_f32(scale + 16 * g);
    for (int64_t m = 0; 2 * m < cols; m++) {
        const __m512i hi = _mm512_load_si512(t + 32 * m), lo = _mm512_load_si512(t + 32 * m + 16);
        const __m256 d0 = join_bytes8(_mm512_castsi512_si256(hi), _mm512_castsi512_si256(lo));
        const __m256 d1 = join_bytes8(_mm512_extracti64x4_epi64(hi, 1), _mm512_extracti64x4_epi64(lo, 1));
        const __m512 dot = _mm512_insertf32x8(_mm512_castps256_ps512(d0), d1, 1);
        const __m512 y = _mm512_mul_ps(_mm512_mul_ps(dot, _mm512_set1_ps(xs[m0 + m])), sc);
        _mm256_storeu_si256((__m256i*) (out + (m0 + m) * N + 16 * g), f32x16_bf16(y));
    }
}

/*
 * Rows 0 .. rows-1 of xq as quads xv ([row group][K / 64][16 quads][16 rows]); every thread of a parallel region.
 * Up to 32 rows: each thread's groups as two streams (stream_halves), a tile C per stream and 16 rows. More: one stream of groups per
 * thread, the rows in passes of AMX_ROWS (a tile C per 16), each group's weights read from memory once: the first
 * pass keeps their tile-A rows (16 K bytes, L2) for the next. pairs: the rows are amx512_a16's byte pairs (rows
 * even), stored by amx16_store, else amx8_store's rows.
 */
TAMXI static void amx8_rows(const uint32_t* xv, const float* xs, const int8_t* qb, const uint16_t* scale,
                            uint16_t* out, int64_t rows, int64_t N, int64_t K, const int pairs) {
    const int64_t groups = N / 16, steps = K / 64, cols = rows < 16 ? rows : 16;
    TileConfig saved;
    amx_begin(&saved, cols);   /* C int32, A [16 channels][64] int8, B [16 quads][cols][4] int8 */
    int8_t a0[1024] __attribute__((aligned(64))), a1[1024] __attribute__((aligned(64)));
    int32_t c[256] __attribute__((aligned(64)));
#define AMX8_STORE(r0, g)                                                                                      \
    do {                                                                                                       \
        const int64_t n = rows - (r0) < 16 ? rows - (r0) : 16;                                                 \
        if (pairs) amx16_store(c, n, xs, scale, out, N, (r0) / 2, g);                                          \
        else amx8_store(c, n, xs, scale, out, N, r0, g);                                                       \
    } while (0)
    if (rows <= 32) {   /* two streams: tiles C 0-1 (rows 0-15, 16-31) for the one, 2-3 for the other; B 6-7 */
        const int second = rows > 16;
        int64_t c0, c1, half;
        stream_halves(groups, &c0, &c1, &half);
        for (int64_t i = 0; i < half; i++) {
            const int64_t ga = c0 + i, gb = c0 + half + i;
            const int two = gb < c1;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (int64_t k = 0; k < K; k += 64) {
                _tile_loadd(6, xv + ((k / 64) << 8), 64);
                if (second) _tile_loadd(7, xv + ((steps + k / 64) << 8), 64);
                gather_group64(qb, ga, k, K, a0);
                _tile_loadd(4, a0, 64);
                _tile_dpbssd(0, 4, 6);
                if (second) _tile_dpbssd(1, 4, 7);
                if (two) {
                    gather_group64(qb, gb, k, K, a1);
                    _tile_loadd(5, a1, 64);
                    _tile_dpbssd(2, 5, 6);
                    if (second) _tile_dpbssd(3, 5, 7);
                }
            }
            _tile_stored(0, c, 64);
            AMX8_STORE(0, ga);
            if (second) {
                _tile_stored(1, c, 64);
                AMX8_STORE(16, ga);
            }
            if (two) {
                _tile_stored(2, c, 64);
                AMX8_STORE(0, gb);
                if (second) {
                    _tile_stored(3, c, 64);
                    AMX8_STORE(16, gb);
                }
            }
        }
    } else {
        const int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
        /* rows in blocks whose quads (rows x K bytes) stay in L2 while the groups pass them, at least one pass */
        int64_t block = AMX_A8_BLOCK_BYTES / K / AMX_ROWS * AMX_ROWS;
        if (block < AMX_ROWS) block = AMX_ROWS;
        int8_t* kept = rows > AMX_ROWS && block > AMX_ROWS ? thread_scratch(SCRATCH_AMX8_GROUP, 16 * K + 64) : NULL;
        if (kept != NULL) kept = (int8_t*) (((uintptr_t) kept + 63) & ~(uintptr_t) 63);   /* NULL: gather every pass */
        for (int64_t b0 = 0; b0 < rows; b0 += block)
        for (int64_t g = groups * id / nt; g < groups * (id + 1) / nt; g++) {
            const int64_t b1 = rows - b0 < block ? rows : b0 + block;
            for (int64_t p0 = b0; p0 < b1; p0 += AMX_ROWS) {
                const int64_t rg = (b1 - p0 < AMX_ROWS ? b1 - p0 + 15 : AMX_ROWS) / 16, r = p0 / 16;
                _tile_zero(0);
                _tile_zero(1);
                _tile_zero(2);
                _tile_zero(3);
                for (int64_t k = 0; k < K; k += 64) {
                    int8_t* a = kept != NULL ? kept + 16 * k : a0;
                    if (p0 == b0 || kept == NULL) gather_group64(qb, g, k, K, a);
                    _tile_loadd(4, a, 64);
                    _tile_loadd(6, xv + ((r * steps + k / 64) << 8), 64);
                    _tile_dpbssd(0, 4, 6);
                    if (rg > 1) {
                        _tile_loadd(6, xv + (((r + 1) * steps + k / 64) << 8), 64);
                        _tile_dpbssd(1, 4, 6);
                    }
                    if (rg > 2) {
                        _tile_loadd(6, xv + (((r + 2) * steps + k / 64) << 8), 64);
                        _tile_dpbssd(2, 4, 6);
                    }
                    if (rg > 3) {
                        _tile_loadd(6, xv + (((r + 3) * steps + k / 64) << 8), 64);
                        _tile_dpbssd(3, 4, 6);
                    }
                }
                for (int j = 0; j < rg; j++) {
                    amx_stored_c(j, c);
                    AMX8_STORE(p0 + 16 * j, g);
                }
            }
        }
    }
#undef AMX8_STORE
    amx_end(&saved);
}

/*
 * The scratch of an AMX-INT8 call of `rows` byte rows of K (M rows of x): the byte rows (64-byte aligned), their
 * quads as tile B's blocks (*xv, [rows / 16][K / 64][16][16] 32-bit), then M scales (*xs) and M sums (*xsum); NULL
 * where memory cannot be had
 */
static int8_t* amx8_scratch(int64_t rows, int64_t M, int64_t K, uint32_t** xv, float** xs, int32_t** xsum) {
    const int64_t rowsBytes = (rows * K + 63) & ~(int64_t) 63, quadsBytes = ((rows + 15) / 16) * (K / 64) * 1024;
    int8_t* xq = w8_scratch(rowsBytes + quadsBytes + M * (int64_t) (sizeof(float) + sizeof(int32_t)) + 64);
    if (xq == NULL) return NULL;
    xq = (int8_t*) (((uintptr_t) xq + 63) & ~(uintptr_t) 63);
    *xv = (uint32_t*) (xq + rowsBytes);
    *xs = (float*) ((int8_t*) *xv + quadsBytes);
    *xsum = (int32_t*) (*xs + M);
    return xq;
}

/* as gemm512_w8a8 (the same outputs, bit for bit), on AMX-INT8; 0 where the scratch cannot be had */
TAMXI static int amx512_w8a8(const uint16_t* x, const int8_t* qb, const uint16_t* scale, uint16_t* out, int64_t M,
                             int64_t N, int64_t K) {
    const int64_t steps = K / 64;
    uint32_t* xv;
    float* xs;
    int32_t* xsum;
    int8_t* xq = amx8_scratch(M, M, K, &xv, &xs, &xsum);
    if (xq == NULL) return 0;
#pragma omp parallel
    {
#pragma omp for schedule(static)
        for (int64_t m = 0; m < M; m++) xs[m] = quantize_row_s8(x + m * K, xq + m * K, K, &xsum[m]);
        amx_pack_rows((const uint32_t*) xq, K / 4, M, steps, xv);   /* as quads */
        amx8_rows(xv, xs, qb, scale, out, M, N, K, 0);
    }
    return 1;
}

/*
 * int8 weights on AMX-INT8 with 16-bit activations (linear_int8 where the CPU has AMX-INT8): no widening of the
 * weights at all. Each row of x is quantized to 16 bits with its own scale, s[m] = max|x[m]| / 32512, so xi =
 * round(x / s) lies in [-32512, 32512] = 127 * 256 * [-1, 1], and split exactly into two signed bytes, xi = 256 * hi +
 * lo (hi = round(xi / 256) in [-127, 127], lo in [-128, 127]). The two bytes are rows 2m and 2m + 1 of a W8A8 call of
 * 2M rows (amx8_rows: TDPBSSD, exact int32 sums, tile A the weights as they lie in the blocked layout), and the
 * epilogue joins them: y = bf16(float(256 * dot_hi + dot_lo) * s[m] * scale[n]). The only rounding before the
 * epilogue is x's to 16 bits: a step of max|x| / 32512, finer than bf16's own (2^-8 relative) for every element
 * within 1/128 of the row's largest (harness, 1B shapes with outliers of 40x: relative rms error 1.731e-3 against
 * the float64 product, the widening kernel's 1.726e-3; both are bf16's output rounding).
 *
 * Calls of up to AMX_A16_MAX_ROWS rows (one pass of 64 byte rows: decode steps) take it, one row on VNNI instead
 * (gemm512_a16_row: the same outputs; 49-51 ms against the tiles' 50-53 in the harness below, run later in a slower
 * phase of the VM, the VNNI W8A8 kernel's own one row 49-50); more rows (prefill chunks,
 * bigger batches) keep the widening kernel (amx512), faster there, since a byte pair costs a row's share of tile B
 * and TDPBSSD twice over. Harness, the 113 int8 linears of the 1B shape with int8 lm_head (Xeon with AMX, 2 cores):
 * one row 47-50 ms against 51-54 widened, 8 rows 54 against 58, 16 rows 55 against 60-63; 64 rows 127-136 against
 * 106-119; one 512-row linear within 0-15 % of the widening kernel. The sums are exact, so a row's outputs are the
 * same alone or among others (up to 32 rows; calls of more take the widening kernel, whose rows are alike among
 * themselves).
 */

#define AMX_A16_MAX_ROWS (AMX_ROWS / 2)   /* linear_int8 calls of more rows: widened into bf16 tiles (amx512) */

/*
 * a row x [K] bf16 -> hi, lo [K] int8 (x / s = 256 hi + lo, rounded); returns s; sums[0, 1] = sum(hi), sum(lo),
 * which only the VNNI kernel (gemm512_a16_row) takes off: the tiles pass NULL, and inlined the adds are gone
 */
T512V static inline __attribute__((always_inline)) float quantize_row_s16(const uint16_t* x, int8_t* hi, int8_t* lo,
                                                                          int64_t K, int32_t* sums) {
    const float s = row_absmax(x, K) / 32512.0f;
    const __m512 inv = _mm512_set1_ps(s > 0.0f ? 1.0f / s : 0.0f);
    const __m512i half = _mm512_set1_epi32(128);
    __m512i sh = _mm512_setzero_si512(), sl = _mm512_setzero_si512();
    for (int64_t k = 0; k < K; k += 16) {
        const __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(bf16x16_f32(x + k), inv));   /* [-32512, 32512] */
        const __m512i h = _mm512_srai_epi32(_mm512_add_epi32(v, half), 8);              /* [-127, 127] */
        const __m512i l = _mm512_sub_epi32(v, _mm512_slli_epi32(h, 8));                 /* [-128, 127] */
        if (sums != NULL) {
            sh = _mm512_add_epi32(sh, h);
            sl = _mm512_add_epi32(sl, l);
        }
        _mm_storeu_si128((__m128i*) (hi + k), _mm512_cvtepi32_epi8(h));
        _mm_storeu_si128((__m128i*) (lo + k), _mm512_cvtepi32_epi8(l));
    }
    if (sums != NULL) {
        sums[0] = _mm512_reduce_add_epi32(sh);
        sums[1] = _mm512_reduce_add_epi32(sl);
    }
    return s;
}

/*
 * One row of amx512_a16 (which hands it here) on VNNI: its two byte rows as a two-row call of gemm512_w8a8's few-row path (w8_few:
 * each thread's blocks as four long streams, each prefetching its next block), which reads the weights' bytes
 * faster than the tiles do for one row (harness, the 113 int8 linears of the 1B shape: see amx512_a16). The
 * same sums, exact, and the same epilogue arithmetic: the outputs are amx512_a16's bit for bit (NativeKernelsTest's
 * rows alone). N % 4 == 0, K % 32 == 0; 0 where the scratch cannot be had.
 */
T512V static int gemm512_a16_row(const uint16_t* x, const int8_t* qb, const uint16_t* scale, uint16_t* out,
                                 int64_t N, int64_t K) {
    int8_t* xq = w8_scratch(2 * K);
    if (xq == NULL) return 0;
    int32_t xsum[2];
    float xs[1];
    xs[0] = quantize_row_s16(x, xq, xq + K, K, xsum);
#pragma omp parallel
    w8_few(xq, xs, xsum, qb, scale, out, N, K, 2, 1);
    return 1;
}

/*
 * x [M, K] bf16 against blocked int8 q [N, K] (N % 16 == 0, K % 64 == 0) as above, one row through gemm512_a16_row;
 * 0 where the scratch cannot be had
 */
TAMXI static int amx512_a16(const uint16_t* x, const int8_t* qb, const uint16_t* scale, uint16_t* out, int64_t M,
                            int64_t N, int64_t K) {
    if (M == 1) return gemm512_a16_row(x, qb, scale, out, N, K);
    const int64_t steps = K / 64;
    uint32_t* xv;
    float* xs;
    int32_t* unused;   /* TDPBSSD multiplies signed bytes: no sums to take off */
    int8_t* xq = amx8_scratch(2 * M, M, K, &xv, &xs, &unused);
    if (xq == NULL) return 0;
#pragma omp parallel
    {
#pragma omp for schedule(static)
        for (int64_t m = 0; m < M; m++)
            xs[m] = quantize_row_s16(x + m * K, xq + 2 * m * K, xq + (2 * m + 1) * K, K, NULL);   /* no sums */
        amx_pack_rows((const uint32_t*) xq, K / 4, 2 * M, steps, xv);   /* as quads */
        amx8_rows(xv, xs, qb, scale, out, 2 * M, N, K, 1);
    }
    return 1;
}
