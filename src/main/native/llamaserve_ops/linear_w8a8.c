/* llamaserve_ops.c's part: AVX-512 VNNI: W8A8, the rows quantized to int8 per call.
 * Included by llamaserve_ops.c, in its order (one translation unit), not compiled alone. */

/*
 * W8A8 (llm.model.quantization=w8a8): the blocked int8 weights against the rows of x quantized per call, each row
 * to int8 with its own scale (per token: s = absmax(row) / 127, xq = round(x / s), to nearest even), multiplied
 * in exact int32 arithmetic by VNNI's vpdpbusd (64 multiply-adds per instruction, twice vdpbf16ps's 32). vpdpbusd
 * takes one operand unsigned: the weights are read as q + 128 (their bytes with the top bit flipped) and the
 * row's 128 x sum(xq) taken off the integer sum afterwards. out[m, n] = bf16(float(sum_k xq[m, k] q[n, k]) *
 * s[m] * scale[n]). The integer sums are exact, so a row's outputs do not depend on the other rows of the call
 * (nor on the order of summation). Tiles of W8_MC rows x W8_NB blocks of 4 channels (calls of one or two rows: x up
 * to W8_STREAMS_MAX blocks, one per stream): 16 accumulators, each holding two channels (lanes 0-7 and 8-15: a
 * 64-byte load is two channels' 32 inputs). tile_w8a8's n: the first channel of each of its NB blocks.
 */
/* AVX-512 F/BW/VL/DQ and VNNI, no BF16: W8A8 runs where the CPU has VNNI (w8a8_ready), BF16 or not (Ice Lake and
   Cascade Lake servers have VNNI without BF16); the helpers it inlines (bf16x16_f32, f32x16_bf16, join_bytes8) are
   T512B's */
#define T512V __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
/* whether the CPU has what T512V's kernels need (linear_w8a8, decoder_layer_int8 with w8a8): set at the library's
   load; they run with either native instruction set in use (ISA_AVX2 or ISA_AVX512_BF16), never with none */
static int w8a8_ready;

static int w8a8_detect(void) {
    return avx512f_detect() && __builtin_cpu_supports("avx512vnni");
}
#define W8_MC 4   /* the tail switch in gemm512_w8a8 takes 1-3 rows */
#define W8_NB 2   /* blocks of a tile of W8_MC rows (2: 16 accumulators) */
#define W8_STREAMS_MAX 4   /* blocks of a call of one or two rows (one stream each): 16 accumulators */
#define W8_ROW_TILE 64

/*
 * acc + the products of a's unsigned bytes with b's signed ones, in fours (vpdpbusd), accumulated in place: gcc's
 * _mm512_dpbusd_epi32 copied each accumulator to another register around every instruction (a vmovdqa32 per
 * multiply-add, and spills at 16 accumulators), as the tiles below were compiled
 */
T512V static inline __attribute__((always_inline)) __m512i dpbusd(__m512i acc, __m512i a, __m512i b) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
}

/*
 * max |x[k]| of a row of bf16 (K % 16 == 0), NaN where the row holds a NaN or an infinity: the largest magnitude's
 * bits (a float's order for non-negative values, NaN above infinity above every finite value), so that a row's
 * scale, and with it every output of the row, is NaN rather than finite numbers made from a NaN's integer conversion
 */
T512V static float row_absmax(const uint16_t* x, int64_t K) {
    __m512i mx = _mm512_setzero_si512();
    for (int64_t k = 0; k < K; k += 16)
        mx = _mm512_max_epu32(mx, _mm512_and_si512(_mm512_castps_si512(bf16x16_f32(x + k)), _mm512_set1_epi32(0x7fffffff)));
    const uint32_t bits = (uint32_t) _mm512_reduce_max_epu32(mx);
    float a;
    memcpy(&a, &bits, 4);
    return bits >= 0x7f800000u ? NAN : a;
}

/* a row x [K] bf16 -> xq [K] int8; returns its scale, *sum = sum(xq) (K % 16 == 0) */
T512V static float quantize_row_s8(const uint16_t* x, int8_t* xq, int64_t K, int32_t* sum) {
    const float s = row_absmax(x, K) / 127.0f;
    const __m512 inv = _mm512_set1_ps(s > 0.0f ? 1.0f / s : 0.0f);
    __m512i total = _mm512_setzero_si512();
    for (int64_t k = 0; k < K; k += 16) {
        const __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(bf16x16_f32(x + k), inv));   /* [-127, 127] */
        total = _mm512_add_epi32(total, q);
        _mm_storeu_si128((__m128i*) (xq + k), _mm512_cvtepi32_epi8(q));
    }
    *sum = _mm512_reduce_add_epi32(total);
    return s;
}

/*
 * The 4 * nb channel sums of a row's 2 * nb accumulators (nb <= 2; accumulator j: channel 2j in lanes 0-7, 2j+1
 * in 8-15), added up across lanes all at once (integer sums are exact in any order), in lanes 0 .. 4nb-1.
 */
T512V static inline __attribute__((always_inline)) __m256i channel_sums(const __m512i* a, const int nb) {
    const __m512i z = _mm512_setzero_si512();
    const __m512i a2 = nb > 1 ? a[2] : z, a3 = nb > 1 ? a[3] : z;
    /* 128-bit quarters k = 0..3: channel k folded to 4 lanes (w), channel 4 + k (x) */
    const __m512i w = _mm512_add_epi32(_mm512_shuffle_i32x4(a[0], a[1], 0x88), _mm512_shuffle_i32x4(a[0], a[1], 0xdd));
    const __m512i x = _mm512_add_epi32(_mm512_shuffle_i32x4(a2, a3, 0x88), _mm512_shuffle_i32x4(a2, a3, 0xdd));
    const __m512i p = _mm512_add_epi32(_mm512_unpacklo_epi32(w, x), _mm512_unpackhi_epi32(w, x));
    const __m512i q = _mm512_add_epi32(p, _mm512_shuffle_epi32(p, (_MM_PERM_ENUM) 0x4e));   /* lane 4k: k, 4k+1: 4+k */
    const __m512i order = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 13, 9, 5, 1, 12, 8, 4, 0);
    return _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, q));            /* channels 0 .. 7 */
}

T512V static inline __attribute__((always_inline)) void tile_w8a8(const int8_t* xq, const float* xs,
        const int32_t* xsum, const int8_t* qb, const uint16_t* scale, uint16_t* out, int64_t N, int64_t K,
        int64_t m0, const int64_t* n, const int MC, const int NB, const char* pf, int64_t pfLines,
        const int ahead, const int pairs) {
    __m512i acc[W8_MC][2 * W8_STREAMS_MAX];
    for (int i = 0; i < MC; i++)
        for (int j = 0; j < 2 * NB; j++) acc[i][j] = _mm512_setzero_si512();
    const __m512i flip = _mm512_set1_epi8((char) 0x80);
    const int64_t perStep = (pfLines + K / 32 - 1) / (K / 32);   /* lines of pf to prefetch per step of 32 inputs */
    const char* const pfEnd = pf + pfLines * 64;
    const int l1 = gemm_pf_l1;
    /* pointers stepped by constants: block b's inputs k at wp[b] + 4k (a block's steps lie in a row, blocked), row
       m0 + i's at xp + iK + k. blocked() at every step (multiplies and divisions, with the 16 accumulators leaving
       too few registers for its operands) made this loop 55 instructions for 16 multiply-adds, and 16 rows ran at
       351 G multiply-adds/s in L2 against 440 now (Ice Lake Xeon, 2 cores; the same outputs) */
    const int8_t* wp[W8_STREAMS_MAX];
    for (int b = 0; b < NB; b++) wp[b] = qb + blocked(n[b], 0, K);
    const int8_t* const xp = xq + m0 * K;
    for (int64_t k = 0; k < K; k += 32) {
        for (int64_t l = 0; l < perStep && pf < pfEnd; l++, pf += 64)
            prefetch_next(pf, l1);   /* where tile512's go (gemm512_w8a8) */
        __m512i wv[2 * W8_STREAMS_MAX];   /* q + 128 as uint8: channels 4b, 4b+1 | 4b+2, 4b+3 of block b */
        for (int b = 0; b < NB; b++) {
            const int8_t* p = wp[b] + 4 * k;
            if (ahead) {   /* the same inputs of the next block of this block's stream (a prefetch never faults) */
                _mm_prefetch((const char*) p + 4 * K, _MM_HINT_T0);
                _mm_prefetch((const char*) p + 4 * K + 64, _MM_HINT_T0);
            }
            wv[2 * b] = _mm512_xor_si512(_mm512_loadu_si512(p), flip);
            wv[2 * b + 1] = _mm512_xor_si512(_mm512_loadu_si512(p + 64), flip);
        }
        for (int i = 0; i < MC; i++) {
            const __m512i xv = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i*) (xp + i * K + k)));
            for (int j = 0; j < 2 * NB; j++) acc[i][j] = dpbusd(acc[i][j], wv[j], xv);
        }
    }
    for (int h = 0; h < NB; h += 2) {   /* blocks h and h + 1: channel_sums adds up two blocks at most */
        const int nb = NB - h < 2 ? 1 : 2;
        /* scale[n[h] .. n[h]+3] and (nb = 2) scale[n[h+1] .. n[h+1]+3], f32 */
        const __m128i sc16 = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i*) (scale + n[h])),
                nb > 1 ? _mm_loadl_epi64((const __m128i*) (scale + n[h + 1])) : _mm_setzero_si128());
        const __m256 sc = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(sc16), 16));
        for (int i = 0; i < MC; i += pairs ? 2 : 1) {
            const int64_t m = pairs ? (m0 + i) / 2 : m0 + i;   /* the output row (pairs: rows i, i + 1 its two bytes) */
            const __m256i dot = _mm256_sub_epi32(channel_sums(&acc[i][2 * h], nb), _mm256_set1_epi32(128 * xsum[m0 + i]));
            const __m256 dotf = pairs ? join_bytes8(dot, _mm256_sub_epi32(channel_sums(&acc[i + 1][2 * h], nb),
                                                                          _mm256_set1_epi32(128 * xsum[m0 + i + 1])))
                                      : _mm256_cvtepi32_ps(dot);
            const __m256 y = _mm256_mul_ps(_mm256_mul_ps(dotf, _mm256_set1_ps(xs[m])), sc);
            const __m128i y16 = _mm256_castsi256_si128(f32x16_bf16(_mm512_zextps256_ps512(y)));   /* block h, h + 1 */
            _mm_storel_epi64((__m128i*) (out + m * N + n[h]), y16);
            if (nb > 1) _mm_storel_epi64((__m128i*) (out + m * N + n[h + 1]), _mm_unpackhi_epi64(y16, y16));
        }
    }
}

/*
 * A call of fewer rows than a tile (1-3: decode of a few sequences, where the weights' bytes are the whole cost), on
 * every thread of a parallel region: each thread's blocks as S long streams (stream_parts), one block of each at a
 * time. S = 4 for one or two rows (16 accumulators), 2 for three (registers).
 * Streams per thread, from memory (a plain read of 2.4 GB, Xeon with AMX, 2 cores): 1 stream 25 GB/s, 2 29, 4 31.5,
 * 8 32. Two streams a block apart ran a one-row call at half the rate where K = 2,048 (Zen 4: one stream per thread
 * 42.8-46.6 GB/s, two far apart 49.2-51.2; harness, 16 layers of the 1B).
 * Each block prefetches the same inputs of its successor into L1 where the L1 holds 48 KiB (gemm_pf_l1; Zen 5, where
 * it was written). On a Zen 4 (32 KiB) that prefetch cost a third: one row through the 113 linears of the 1B shape
 * from memory, alternated, 28-35 ms with it against 20-24 without (int8 weights widened for bf16 rows, few512_int8:
 * 21-24), in the VM's slow phase 38-47 against 34-38; the same outputs.
 */
T512V static inline __attribute__((always_inline)) void w8_streams(const int8_t* xq, const float* xs,
        const int32_t* xsum, const int8_t* qb, const uint16_t* scale, uint16_t* out, int64_t N, int64_t K, const int MC,
        const int pairs, const int ahead) {
    const int S = MC <= 2 ? 4 : 2;
    int64_t c0, c1, q;
    stream_parts(N / 4, S, &c0, &c1, &q);
    for (int64_t i = 0; i < q; i++) {
        int64_t n[W8_STREAMS_MAX] = {0};   /* first channels of the blocks, one per stream (u = 0 always is) */
        int nb = 0;
        for (int u = 0; u < S; u++)
            if (c0 + u * q + i < c1) n[nb++] = 4 * (c0 + u * q + i);
        if (nb == 4 && S == 4) tile_w8a8(xq, xs, xsum, qb, scale, out, N, K, 0, n, MC, 4, NULL, 0, ahead, pairs);
        else if (nb == 3 && S == 4) tile_w8a8(xq, xs, xsum, qb, scale, out, N, K, 0, n, MC, 3, NULL, 0, ahead, pairs);
        else if (nb == 2) tile_w8a8(xq, xs, xsum, qb, scale, out, N, K, 0, n, MC, 2, NULL, 0, ahead, pairs);
        else tile_w8a8(xq, xs, xsum, qb, scale, out, N, K, 0, n, MC, 1, NULL, 0, ahead, pairs);
    }
}

T512V static inline __attribute__((always_inline)) void w8_few(const int8_t* xq, const float* xs, const int32_t* xsum,
        const int8_t* qb, const uint16_t* scale, uint16_t* out, int64_t N, int64_t K, const int MC, const int pairs) {
    if (gemm_pf_l1) w8_streams(xq, xs, xsum, qb, scale, out, N, K, MC, pairs, 1);
    else w8_streams(xq, xs, xsum, qb, scale, out, N, K, MC, pairs, 0);
}

static int8_t* w8_scratch(int64_t need) {
    return thread_scratch(SCRATCH_ROWS, need);
}

/* x [M, K] bf16 against blocked int8 (N % 4 == 0, K % 32 == 0); 0 where the scratch cannot be had */
T512V static int gemm512_w8a8(const uint16_t* x, const int8_t* qb, const uint16_t* scale, uint16_t* out, int64_t M,
                              int64_t N, int64_t K) {
    const int64_t need = M * K + M * (int64_t) (sizeof(float) + sizeof(int32_t)) + 64;
    int8_t* xq = w8_scratch(need);
    if (xq == NULL) return 0;
    float* xs = (float*) (xq + ((M * K + 63) & ~(int64_t) 63));
    int32_t* xsum = (int32_t*) (xs + M);
    const int64_t per = W8_NB, blocks = N / 4, groups = (blocks + per - 1) / per;
#pragma omp parallel
    {
#pragma omp for schedule(static)
        for (int64_t m = 0; m < M; m++) xs[m] = quantize_row_s8(x + m * K, xq + m * K, K, &xsum[m]);
        if (M < W8_MC) {
            switch (M) {   /* w8_few: constant rows */
                case 3: w8_few(xq, xs, xsum, qb, scale, out, N, K, 3, 0); break;
                case 2: w8_few(xq, xs, xsum, qb, scale, out, N, K, 2, 0); break;
                default: w8_few(xq, xs, xsum, qb, scale, out, N, K, 1, 0); break;
            }
        } else {
        for (int64_t r0 = 0; r0 < M; r0 += W8_ROW_TILE) {   /* a tile of rows stays in L2 while every group runs */
        const int64_t r1 = M - r0 < W8_ROW_TILE ? M : r0 + W8_ROW_TILE;
#pragma omp for schedule(static) nowait
        for (int64_t g = 0; g < groups; g++) {
            const int64_t b0 = g * per, nb = blocks - b0 < per ? blocks - b0 : per, n0 = 4 * b0;
            /* the next group's weights (contiguous after this group's), prefetched a share per tile of rows, into L2:
               into L1 they evicted the tile's (Zen 4, 32 KiB of L1; harness, the 1B shape's linears from memory,
               interleaved medians: 5 rows 47.2 -> 36.0 ms, 8 rows 54.5 -> 36.2, 16 rows 61.7 -> 56.8, 32 and 64
               the same within 1 %). Into L1 where tile512's go there (gemm_pf_l1: 48 KiB of L1): Zen 5, 16 rows
               53.9-58.1 ms against 58.3-67.2 (ten rounds, switched every round), 5 to 12 and 32 rows the same */
            const int64_t nextBlocks = blocks - b0 - nb < per ? blocks - b0 - nb : per;
            const char* next = nextBlocks > 0 ? (const char*) (qb + blocked(n0 + 4 * nb, 0, K)) : NULL;
            const int64_t nextBytes = nextBlocks * 4 * K, tiles = (r1 - r0 + W8_MC - 1) / W8_MC;
            const int64_t share = nextBytes / tiles / 64 * 64;
            int64_t m0 = r0, t = 0;
#define W8_ROWS(MC)                                                                                            \
    do {                                                                                                       \
        const char* pf = next + t * share;                                                                     \
        const int64_t lines = next == NULL ? 0 : (t + 1 == tiles ? nextBytes - t * share : share) / 64;         \
        const int64_t n[W8_NB] = {n0, n0 + 4};                                                                 \
        if (nb == W8_NB) tile_w8a8(xq, xs, xsum, qb, scale, out, N, K, m0, n, MC, W8_NB, pf, lines, 0, 0);      \
        else tile_w8a8(xq, xs, xsum, qb, scale, out, N, K, m0, n, MC, 1, pf, lines, 0, 0);   /* the last block */ \
        t++;                                                                                                   \
    } while (0)
            for (; m0 + W8_MC <= r1; m0 += W8_MC) W8_ROWS(W8_MC);
            switch (r1 - m0) {   /* the last rows of the tile, fewer than W8_MC (4), as one tile */
                case 3: W8_ROWS(3); break;
                case 2: W8_ROWS(2); break;
                case 1: W8_ROWS(1); break;
                default: break;
            }
#undef W8_ROWS
        }
        }
        }
    }
    return 1;
}
