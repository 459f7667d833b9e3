/* llamaserve_ops.c's part: AVX2 + FMA: the bf16 and int8 linears in float32.
 * Included by llamaserve_ops.c, in its order (one translation unit), not compiled alone. */

/* ---- AVX2 + FMA: 8 inputs per multiply-add in float32; int8 in blocks of 4 channels, bf16 two channels at a time ---- */
#define T256 __attribute__((target("avx2,fma")))

T256 static inline __m256 bf16x8_f32(const uint16_t* p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*) p)), 16));
}

/* 8 float32 rounded to bf16 as f32_to_bf16 rounds them (NaN kept NaN), in the top halves of 8 int32 */
T256 static inline __m256i round_bf16x8(__m256 y) {
    const __m256i w = _mm256_castps_si256(y), top = _mm256_set1_epi32((int) 0xffff0000u);
    const __m256i r = _mm256_and_si256(_mm256_add_epi32(w, _mm256_add_epi32(_mm256_set1_epi32(0x7fff),
            _mm256_and_si256(_mm256_srli_epi32(w, 16), _mm256_set1_epi32(1)))), top);
    const __m256i nan = _mm256_or_si256(_mm256_and_si256(w, top), _mm256_set1_epi32(0x00400000));
    return _mm256_blendv_epi8(r, nan, _mm256_castps_si256(_mm256_cmp_ps(y, y, _CMP_UNORD_Q)));
}

/* 8 bf16 rounded by round_bf16x8 (in the top halves of 8 int32) stored at p */
T256 static inline void store_bf16x8(uint16_t* p, __m256i rounded) {
    const __m256i h = _mm256_srli_epi32(rounded, 16);   /* 8 bf16 in the low halves: [0, 65535], packus keeps them */
    _mm_storeu_si128((__m128i*) p, _mm_packus_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
}

T256 static inline __m256 int8x8_f32(const int8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*) p)));
}

T256 static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* rows m0 .. m0+MC-1 of x against the block of int8 channels n0 .. n0+3 (blocked: N % 4 == 0, K % 32 == 0) */
T256 static inline __attribute__((always_inline)) void block256_int8(const uint16_t* x, const int8_t* qb,
        const uint16_t* scale, uint16_t* out, int64_t N, int64_t K, int64_t m0, int64_t n0, const int MC) {
    __m256 acc[2][4];
    for (int i = 0; i < MC; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k += 8) {
        __m256 wv[4];
        for (int j = 0; j < 4; j++) wv[j] = int8x8_f32(qb + blocked(n0 + j, k, K));
        for (int i = 0; i < MC; i++) {
            const __m256 xv = bf16x8_f32(x + (m0 + i) * K + k);
            for (int j = 0; j < 4; j++) acc[i][j] = _mm256_fmadd_ps(wv[j], xv, acc[i][j]);
        }
    }
    for (int i = 0; i < MC; i++)
        for (int j = 0; j < 4; j++) store(out, N, m0 + i, n0 + j, hsum256(acc[i][j]), 1, scale);
}

/* AVX2's int8 linear: blocks of 4 channels, handed out in runs (take_run) of at least 16 channels, rows in pairs */
T256 static void gemv256_int8(const uint16_t* x, const void* w, const uint16_t* scale, uint16_t* out, int64_t M,
                              int64_t N, int64_t K) {
    const int64_t blocks = N / 4;
    int64_t next = 0;
#pragma omp parallel
    {
        int64_t b0, b1;
        while (take_run(&next, blocks, FEW_RUN_LEAST / 4, &b0, &b1))
            for (int64_t b = b0; b < b1; b++) {
                int64_t m0 = 0;
                for (; m0 + 2 <= M; m0 += 2) block256_int8(x, (const int8_t*) w, scale, out, N, K, m0, 4 * b, 2);
                if (m0 < M) block256_int8(x, (const int8_t*) w, scale, out, N, K, m0, 4 * b, 1);
            }
    }
}

/* 16 bf16 -> the float32 of the even words (e) and of the odd ones (o): a shift and a mask, one operation per 8 */
T256 static inline __attribute__((always_inline)) void bf16x16_even_odd(const uint16_t* p, __m256* e, __m256* o) {
    const __m256i v = _mm256_loadu_si256((const __m256i*) p);
    *e = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    *o = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int) 0xffff0000u)));
}

/*
 * AVX2's one order of summation for bf16 (tile256_bf16): 16 inputs per step into two accumulators per row and channel
 * (bf16x16_even_odd's even and odd inputs), their sum added up across lanes (hsum256), then the last K % 16 inputs
 * one at a time -> out
 */
T256 static inline __attribute__((always_inline)) void store256_bf16(const __m256* acc, const uint16_t* x,
        const uint16_t* w, uint16_t* out, int64_t N, int64_t K, int64_t m, int64_t n) {
    float s = hsum256(_mm256_add_ps(acc[0], acc[1]));
    for (int64_t k = K & ~(int64_t) 15; k < K; k++) s += bf16_to_f32(w[n * K + k]) * bf16_to_f32(x[m * K + k]);
    store(out, N, m, n, s, 0, NULL);
}

/*
 * Rows m0 .. m0+MR-1 (MR <= 2) against channels a and (two) b, in store256_bf16's order, the rows' inputs and the
 * weights both widened here: 8 accumulators, the two channels' 4 vectors of weights and the rows' 4 fill the 16
 * registers.
 */
T256 static inline __attribute__((always_inline)) void tile256_bf16(const uint16_t* x, const uint16_t* w,
        uint16_t* out, int64_t N, int64_t K, int64_t m0, int64_t a, int64_t b, const int two, const int MR) {
    const int64_t K16 = K & ~(int64_t) 15;
    __m256 acc[2][2][2];   /* [row][channel a, b][even, odd] */
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < 2; j++) acc[i][j][0] = acc[i][j][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K16; k += 16) {
        __m256 wv[2][2];
        bf16x16_even_odd(w + a * K + k, &wv[0][0], &wv[0][1]);
        if (two) bf16x16_even_odd(w + b * K + k, &wv[1][0], &wv[1][1]);
        for (int i = 0; i < MR; i++) {
            __m256 xv[2];
            bf16x16_even_odd(x + (m0 + i) * K + k, &xv[0], &xv[1]);
            for (int h = 0; h < 2; h++)
                for (int j = 0; j < 1 + two; j++) acc[i][j][h] = _mm256_fmadd_ps(wv[j][h], xv[h], acc[i][j][h]);
        }
    }
    for (int i = 0; i < MR; i++) {
        store256_bf16(acc[i][0], x, w, out, N, K, m0 + i, a);
        if (two) store256_bf16(acc[i][1], x, w, out, N, K, m0 + i, b);
    }
}

#define LINEAR256_ROWS 48   /* rows per pass over the weights (their bf16 inputs: 192 KiB where K = 2,048) */

/*
 * AVX2's bf16 linear (CPUs without AVX-512 BF16), for every count of rows: for each pass of LINEAR256_ROWS rows, the
 * channels walked as few512 walks them, each thread taking runs of channels (take_run) and walking each as two
 * sequential streams, its halves, one channel of each at a time; each pair of channels against the pass's rows in
 * pairs (tile256_bf16: a pair's 8 KiB of weights, K = 2,048, stay in L1 across the tiles, the rows' bf16 inputs come
 * from L1 and L2). A row's sums do not depend on the rows beside it: one kernel, one order, whatever the rows.
 * Blocks of four channels side by side, as int8's, were four streams a row apart, which the hardware's prefetch picks
 * up anew at every row; and widening by zero extension and a shift took two operations per 8 values where a shift or
 * a mask of the pairs takes one. Harness, one row through the 113 linears of the 1B shape from memory, these AVX2
 * bodies on an AMD EPYC Zen 5 (2 cores), six alternations: 40.3-42.1 ms (58.6-61.4 GB/s) against the blocks of
 * four's 66.9-68.2 (36.2-37.0), 42.7-43.6 with two streams widened by zero extension and shift, and 38.3-39.3 for
 * few512 on AVX-512 BF16. Three rows and more took tiles of 3 rows from a float32 copy of x until a later stop:
 * that copy doubled the bytes each tile read from L2, and ran at 95-98 GFLOP/s on an AMD EPYC Zen 4 with these
 * bodies (2 cores, harness, the 113 linears from memory: 16 rows 416-427 ms, 128 rows 3.23-3.30 s), the pairs at
 * 142-181 (261-279 ms, 1.75-1.83 s); docs/native-cpu-kernels.md.
 */
T256 static void linear256_bf16(const uint16_t* x, const void* wv, const uint16_t* scale, uint16_t* out, int64_t M,
                                int64_t N, int64_t K) {
    (void) scale;
    const uint16_t* w = (const uint16_t*) wv;
    for (int64_t r0 = 0; r0 < M; r0 += LINEAR256_ROWS) {
        const int64_t r1 = M - r0 < LINEAR256_ROWS ? M : r0 + LINEAR256_ROWS;
        int64_t next = 0;
#pragma omp parallel
        {
            int64_t c0, c1;
            while (take_run(&next, N, FEW_RUN_LEAST, &c0, &c1)) {
                const int64_t half = (c1 - c0 + 1) / 2;
                for (int64_t i = 0; i < half; i++) {
                    const int64_t a = c0 + i, b = c0 + half + i < c1 ? c0 + half + i : a;
                    int64_t m0 = r0;
                    if (b != a) {
                        for (; m0 + 2 <= r1; m0 += 2) tile256_bf16(x, w, out, N, K, m0, a, b, 1, 2);
                        if (m0 < r1) tile256_bf16(x, w, out, N, K, m0, a, b, 1, 1);
                    } else {
                        for (; m0 + 2 <= r1; m0 += 2) tile256_bf16(x, w, out, N, K, m0, a, a, 0, 2);
                        if (m0 < r1) tile256_bf16(x, w, out, N, K, m0, a, a, 0, 1);
                    }
                }
            }
        }
    }
}
