/*
 * A kernel harness, not part of the build: bf16 weights in a VNNI layout (panels of 16 channels, one 64-byte line per
 * pair of inputs) multiplied by broadcasting each row's input pairs, against llama-serve's row-major kernels
 * (src/main/native/llamaserve_ops.c, included below): the same bits as linear_bf16, measured and not adopted
 * (docs/measured.md, "The other layout: weights packed for broadcasting rows"). On Linux x86-64 with gcc and
 * AVX-512 BF16:
 *
 *   gcc -O3 -fopenmp -std=gnu11 -march=native src/test/native/vnni_harness.c -o /tmp/vnni -lm -ldl -lpthread
 *   /tmp/vnni check          every output of both layouts compared, 14 row counts x 6 shapes (exit 1 on a difference)
 *   /tmp/vnni time M N [K]   M rows against N x K weights (K 2,048 unless given) from memory (2 MiB pages), both
 *                            layouts alternated, best of 7, four rounds
 *   /tmp/vnni layers M       M rows through the 113 linears of the 1B shape (2.47 GB), both alternated, best of 5
 *   /tmp/vnni align M        M rows through the 113 linears (row-major), each weight from a 2 MiB boundary on huge
 *                            pages throughout (the loader's placement) against each from a 4 KiB page + 64 bytes with
 *                            only its whole 2 MiB pages advised (the earlier one): alternated, best of 4, 8 rounds
 */
#include "harness_kernels.h"

/*
 * bf16 weights in the VNNI layout (pack_vnni, vnni512_bf16; AVX-512 BF16): panels of 16 channels,
 * each panel's [16, K] laid out so that one 64-byte line holds the 16 channels' weights of one pair of inputs, the
 * pairs in the order in which the row-major kernels' accumulator lanes take them:
 *   wp[(n / 16) * 16 K + (((k % 32) / 2 * (K / 32) + k / 32) * 16 + n % 16) * 2 + k % 2] = w[n, k]
 * (N % 16 == 0, K % 32 == 0). A row's input pair is broadcast against a line: one vdpbf16ps adds a pair into 16
 * channels at once, x is read 16 channels at a time instead of 6 (gemm512_bf16 reads all of x again for every group
 * of 6 channels, from L2 where 16 rows are 64 KiB), and a panel's weights stream in as one sequential run.
 * Lane l of gemm512_bf16's and few512's accumulator for (row, channel) sums the pairs k = 32c + 2l over c = 0, 1, ...
 * in turn, and its 16 lanes are added up in _mm512_reduce_add_ps's order (reduce16). Here the pairs of one l lie
 * together (l-major): a pass over them sums lane l of 16 channels, and tree16 adds the 16 passes up in that order,
 * so every output is the same bits as linear_bf16's on the row-major weights (check, below), and a row's
 * outputs do not depend on the other rows of the call.
 * Figures: docs/measured.md, "The other layout: weights packed for broadcasting rows".
 */
static inline int64_t vnni_at(int64_t n, int64_t k, int64_t K) {
    return (n / 16) * 16 * K + (((k % 32) / 2 * (K / 32) + k / 32) * 16 + n % 16) * 2 + k % 2;
}

/* row-major w [N, K] -> wp in the VNNI layout; panels in parallel, one 32-bit pair at a time */
static void pack_vnni(const uint16_t* w, uint16_t* wp, int64_t N, int64_t K) {
    const int64_t C = K / 32;
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < N / 16; p++) {
        uint32_t* dst = (uint32_t*) (wp + p * 16 * K);
        for (int64_t j = 0; j < 16; j++) {
            const uint32_t* src = (const uint32_t*) (w + (p * 16 + j) * K);
            for (int64_t c = 0; c < C; c++)
                for (int64_t l = 0; l < 16; l++) dst[(l * C + c) * 16 + j] = src[c * 16 + l];
        }
    }
}

#define VNNI_ROWS 16              /* rows of a tile (16 accumulators) */
#define VNNI_PF_TILE (16 * 1024)  /* bf16 elements (32 KiB) of its panel a tile prefetches ahead */
#define VNNI_PF_FEW (32 * 1024)   /* ... and (64 KiB) the one-to-four-row kernel */

/* the sum of 16 passes' vectors, pairing them as _mm512_reduce_add_ps pairs its lanes (l + 8, then + 4, then 2) */
T512 static inline __attribute__((always_inline)) __m512 tree16(const __m512* part, const int stride) {
    __m512 s8[8], s4[4];
    for (int l = 0; l < 8; l++) s8[l] = _mm512_add_ps(part[l * stride], part[(l + 8) * stride]);
    for (int l = 0; l < 4; l++) s4[l] = _mm512_add_ps(s8[l], s8[l + 4]);
    return _mm512_add_ps(_mm512_add_ps(s4[0], s4[2]), _mm512_add_ps(s4[1], s4[3]));
}

/*
 * MC <= 4 rows of x (row-major) against panels a and b (b == a: a alone), each prefetching its own weights ahead:
 * each thread walks its run of panels as two sequential streams, as few512 does.
 */
T512 static inline __attribute__((always_inline)) void vnni_few(const uint16_t* x, const uint16_t* wp, uint16_t* out,
        int64_t N, int64_t K, int64_t a, int64_t b, const int MC) {
    const int64_t C = K / 32;
    const int two = b != a;
    const uint16_t* wa = wp + a * 16 * K;
    const uint16_t* wb = wp + b * 16 * K;
    __m512 part[16][2][4];   /* [pass l][panel][row] */
    for (int l = 0; l < 16; l++) {
        __m512 acc[2][4];
        for (int i = 0; i < MC; i++) acc[0][i] = acc[1][i] = _mm512_setzero_ps();
        for (int64_t c = 0; c < C; c++) {
            const int64_t o = (l * C + c) * 32;
            _mm_prefetch((const char*) (wa + o + VNNI_PF_FEW), _MM_HINT_T0);
            const __m512bh va = (__m512bh) _mm512_load_si512(wa + o);
            __m512bh vb = va;
            if (two) {
                _mm_prefetch((const char*) (wb + o + VNNI_PF_FEW), _MM_HINT_T0);
                vb = (__m512bh) _mm512_load_si512(wb + o);
            }
            for (int i = 0; i < MC; i++) {
                uint32_t pair;
                memcpy(&pair, x + i * K + 32 * c + 2 * l, 4);
                const __m512bh xv = (__m512bh) _mm512_set1_epi32((int) pair);
                acc[0][i] = _mm512_dpbf16_ps(acc[0][i], va, xv);
                if (two) acc[1][i] = _mm512_dpbf16_ps(acc[1][i], vb, xv);
            }
        }
        for (int i = 0; i < MC; i++) {
            part[l][0][i] = acc[0][i];
            part[l][1][i] = acc[1][i];
        }
    }
    for (int i = 0; i < MC; i++) {
        _mm256_storeu_si256((__m256i*) (out + i * N + a * 16), f32x16_bf16(tree16(&part[0][0][i], 8)));
        if (two) _mm256_storeu_si256((__m256i*) (out + i * N + b * 16), f32x16_bf16(tree16(&part[0][1][i], 8)));
    }
}

/*
 * A tile of MR rows (their pairs packed l-major at xt: xt[(l * C + c) * VNNI_ROWS + r]) against panel p; rows rows of
 * it are stored (the rest are padding).
 */
T512 static inline __attribute__((always_inline)) void vnni_tile(const uint32_t* xt, const uint16_t* wp, uint16_t* out,
        int64_t N, int64_t K, int64_t p, int64_t m0, int64_t rows, const int MR) {
    const int64_t C = K / 32;
    const uint16_t* w = wp + p * 16 * K;
    __m512 part[16][VNNI_ROWS];
    for (int l = 0; l < 16; l++) {
        __m512 acc[VNNI_ROWS];
        for (int r = 0; r < MR; r++) acc[r] = _mm512_setzero_ps();
        const uint16_t* wl = w + l * C * 32;
        const uint32_t* xl = xt + l * C * VNNI_ROWS;
        for (int64_t c = 0; c < C; c++) {
            const __m512bh wv = (__m512bh) _mm512_load_si512(wl + c * 32);
            _mm_prefetch((const char*) (wl + c * 32 + VNNI_PF_TILE), _MM_HINT_T0);
            for (int r = 0; r < MR; r++)
                acc[r] = _mm512_dpbf16_ps(acc[r], wv, (__m512bh) _mm512_set1_epi32((int) xl[c * VNNI_ROWS + r]));
        }
        for (int r = 0; r < MR; r++) part[l][r] = acc[r];
    }
    for (int64_t r = 0; r < rows; r++)
        _mm256_storeu_si256((__m256i*) (out + (m0 + r) * N + p * 16), f32x16_bf16(tree16(&part[0][r], VNNI_ROWS)));
}

#define VNNI_PANEL_GROUP 4   /* panels (256 KiB where K = 2,048) each tile of rows multiplies in turn, from L2 */

/* x [M, K] bf16 against wp (the VNNI layout, N % 16 == 0, K % 32 == 0); 0 where the scratch cannot be had */
T512 static int vnni512_bf16(const uint16_t* x, const uint16_t* wp, uint16_t* out, int64_t M, int64_t N, int64_t K) {
    const int64_t C = K / 32, panels = N / 16;
    if (M <= 4) {
        int64_t next = 0;
#pragma omp parallel
        {
            int64_t c0, c1;
            while (take_run(&next, panels, 4, &c0, &c1)) {
                const int64_t half = (c1 - c0 + 1) / 2;
                for (int64_t i = 0; i < half; i++) {
                    const int64_t a = c0 + i, b = c0 + half + i < c1 ? c0 + half + i : a;
                    switch (M) {
                        case 4: vnni_few(x, wp, out, N, K, a, b, 4); break;
                        case 3: vnni_few(x, wp, out, N, K, a, b, 3); break;
                        case 2: vnni_few(x, wp, out, N, K, a, b, 2); break;
                        default: vnni_few(x, wp, out, N, K, a, b, 1); break;
                    }
                }
            }
        }
        return 1;
    }
    /* x's rows in tiles of VNNI_ROWS, each tile's pairs l-major (the last tile's missing rows zero) */
    const int64_t tiles = (M + VNNI_ROWS - 1) / VNNI_ROWS;
    uint32_t* xp = (uint32_t*) w8_scratch(tiles * VNNI_ROWS * K * (int64_t) sizeof(uint16_t));
    if (xp == NULL) return 0;
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < tiles; t++) {
        uint32_t* xt = xp + t * VNNI_ROWS * K / 2;
        for (int64_t r = 0; r < VNNI_ROWS; r++) {
            const int64_t m = t * VNNI_ROWS + r;
            const uint32_t* row = (const uint32_t*) (x + m * K);
            for (int64_t c = 0; c < C; c++)
                for (int64_t l = 0; l < 16; l++) xt[(l * C + c) * VNNI_ROWS + r] = m < M ? row[c * 16 + l] : 0;
        }
    }
    const int64_t groups = (panels + VNNI_PANEL_GROUP - 1) / VNNI_PANEL_GROUP;
#pragma omp parallel for schedule(static)   /* each thread one run of groups: dynamic ran 16 rows 530 GFLOP/s, static 592-606 */
    for (int64_t g = 0; g < groups; g++) {
        const int64_t p1 = (g + 1) * VNNI_PANEL_GROUP < panels ? (g + 1) * VNNI_PANEL_GROUP : panels;
        for (int64_t t = 0; t < tiles; t++) {
            const int64_t m0 = t * VNNI_ROWS, rows = M - m0 < VNNI_ROWS ? M - m0 : VNNI_ROWS;
            const uint32_t* xt = xp + t * VNNI_ROWS * K / 2;
            for (int64_t p = g * VNNI_PANEL_GROUP; p < p1; p++) {
                if (rows <= 8) vnni_tile(xt, wp, out, N, K, p, m0, rows, 8);
                else vnni_tile(xt, wp, out, N, K, p, m0, rows, VNNI_ROWS);
            }
        }
    }
    return 1;
}

static uint16_t random_bf16(float scale) {
    return f32_to_bf16(((rand() & 1023) - 512) * scale * (1 + (rand() & 7)));
}

/* x [M, K] through the kernel linear_bf16 takes on AVX-512 BF16 without AMX */
static void row_major(const uint16_t* x, const uint16_t* w, uint16_t* out, int64_t M, int64_t N, int64_t K) {
    if (M > 4) gemm512_bf16(x, w, NULL, out, M, N, K);
    else few512_bf16(x, w, NULL, out, M, N, K);
}

static int check(void) {
    const int64_t shapes[][2] = {{16, 32}, {48, 64}, {512, 2048}, {256, 4096}, {64, 14336}, {2048, 2048}};
    const int64_t rows[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 70};
    int64_t differ = 0, total = 0;
    srand(3);
    for (int s = 0; s < 6; s++) {
        const int64_t N = shapes[s][0], K = shapes[s][1];
        uint16_t* w = aligned_alloc(64, N * K * 2);
        uint16_t* wp = aligned_alloc(64, N * K * 2);
        for (int64_t i = 0; i < N * K; i++) w[i] = random_bf16(1.0f / 4096);
        pack_vnni(w, wp, N, K);
        for (int64_t n = 0; n < N; n++)
            for (int64_t k = 0; k < K; k++)
                if (wp[vnni_at(n, k, K)] != w[n * K + k]) return printf("vnni_at(%ld, %ld) is not where pack_vnni put it\n", n, k), 1;
        for (int r = 0; r < 14; r++) {
            const int64_t M = rows[r];
            uint16_t* x = aligned_alloc(64, M * K * 2 + 64);
            uint16_t* a = aligned_alloc(64, M * N * 2 + 64);
            uint16_t* b = aligned_alloc(64, M * N * 2 + 64);
            for (int64_t i = 0; i < M * K; i++) x[i] = random_bf16(1.0f / 1024);
            row_major(x, w, a, M, N, K);
            if (!vnni512_bf16(x, wp, b, M, N, K)) return printf("no scratch\n"), 1;
            int64_t d = 0;
            for (int64_t i = 0; i < M * N; i++) d += a[i] != b[i];
            if (d) printf("N %ld K %ld M %ld: %ld outputs differ\n", N, K, M, d);
            differ += d;
            total += M * N;
            free(x), free(a), free(b);
        }
        free(w), free(wp);
    }
    printf("%ld of %ld outputs differ\n", differ, total);
    return differ != 0;
}

static int timed(int64_t M, int64_t N, int64_t K) {
    uint16_t* w = aligned_alloc(2 << 20, N * K * 2);
    uint16_t* wp = aligned_alloc(2 << 20, N * K * 2);
    madvise(w, N * K * 2, MADV_HUGEPAGE);
    madvise(wp, N * K * 2, MADV_HUGEPAGE);
    uint16_t* x = aligned_alloc(64, M * K * 2 + 64);
    uint16_t* a = aligned_alloc(64, M * N * 2 + 64);
    uint16_t* b = aligned_alloc(64, M * N * 2 + 64);
    for (int64_t i = 0; i < N * K; i++) w[i] = random_bf16(1.0f / 4096);
    for (int64_t i = 0; i < M * K; i++) x[i] = random_bf16(1.0f / 1024);
    pack_vnni(w, wp, N, K);
    for (int round = 0; round < 4; round++) {
        double ta = 1e9, tb = 1e9;
        for (int it = 0; it < 7; it++) {
            double t0 = now();
            row_major(x, w, a, M, N, K);
            double t1 = now();
            if (t1 - t0 < ta) ta = t1 - t0;
            t0 = now();
            vnni512_bf16(x, wp, b, M, N, K);
            t1 = now();
            if (t1 - t0 < tb) tb = t1 - t0;
        }
        int64_t d = 0;
        for (int64_t i = 0; i < M * N; i++) d += a[i] != b[i];
        printf("%ld rows, %ld x %ld: row-major %.3f ms (%.1f GFLOP/s, weights %.1f GB/s), VNNI %.3f ms (%.1f, %.1f);"
               " %ld outputs differ\n", M, N, K, ta * 1e3, 2.0 * M * N * K / ta / 1e9, 2.0 * N * K / ta / 1e9,
               tb * 1e3, 2.0 * M * N * K / tb / 1e9, 2.0 * N * K / tb / 1e9, d);
    }
    return 0;
}

/* the 113 linears of one decode step of the 1B shape (16 layers: q, k, v, o, gate, up, down; the lm_head): the
   i-th one's [N, K] */
static void linear_1b(int i, int64_t* N, int64_t* K) {
    static const int64_t shape[8][2] = {{2048, 2048}, {512, 2048}, {512, 2048}, {2048, 2048}, {8192, 2048},
                                        {8192, 2048}, {2048, 8192}, {128256, 2048}};
    const int s = i == 112 ? 7 : i % 7;
    *N = shape[s][0], *K = shape[s][1];
}

/* M rows through the 113 linears of the 1B shape (linear_1b) */
static int layers(int64_t M) {
    uint16_t *w[113], *wp[113];
    int64_t N[113], K[113], bytes = 0;
    for (int i = 0; i < 113; i++) {
        linear_1b(i, &N[i], &K[i]);
        w[i] = aligned_alloc(2 << 20, N[i] * K[i] * 2);
        wp[i] = aligned_alloc(2 << 20, N[i] * K[i] * 2);
        madvise(w[i], N[i] * K[i] * 2, MADV_HUGEPAGE);
        madvise(wp[i], N[i] * K[i] * 2, MADV_HUGEPAGE);
        for (int64_t j = 0; j < N[i] * K[i]; j++) w[i][j] = random_bf16(1.0f / 4096);
        pack_vnni(w[i], wp[i], N[i], K[i]);
        bytes += N[i] * K[i] * 2;
    }
    uint16_t* x = aligned_alloc(64, M * 8192 * 2 + 64);
    uint16_t* a = aligned_alloc(64, M * 128256 * 2 + 64);
    uint16_t* b = aligned_alloc(64, M * 128256 * 2 + 64);
    for (int64_t i = 0; i < M * 8192; i++) x[i] = random_bf16(1.0f / 1024);
    for (int round = 0; round < 4; round++) {
        double ta = 1e9, tb = 1e9;
        for (int it = 0; it < 5; it++) {
            double t0 = now();
            for (int i = 0; i < 113; i++) row_major(x, w[i], a, M, N[i], K[i]);
            double t1 = now();
            if (t1 - t0 < ta) ta = t1 - t0;
            t0 = now();
            for (int i = 0; i < 113; i++) vnni512_bf16(x, wp[i], b, M, N[i], K[i]);
            t1 = now();
            if (t1 - t0 < tb) tb = t1 - t0;
        }
        printf("%ld rows through the 113 linears of the 1B shape (%.2f GB): row-major %.1f ms, VNNI %.1f ms\n", M,
               bytes / 1e9, ta * 1e3, tb * 1e3);
    }
    return 0;
}

/* w's bytes in memory advised onto 2 MiB pages: from a 2 MiB boundary and all of it (aligned), else from a 4 KiB
 * page + 64 bytes (as a tensor of its own may start) with only its whole 2 MiB pages advised */
static uint16_t* placed(int64_t bytes, int aligned, int i) {
    char* base = aligned_alloc(HUGE_PAGE, bytes + 2 * HUGE_PAGE);
    char* p = aligned ? base : base + (i * 37 % 512) * 4096 + 64;
    const uintptr_t a = ((uintptr_t) p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    const uintptr_t b = ((uintptr_t) p + bytes + (aligned ? HUGE_PAGE - 1 : 0)) & ~(HUGE_PAGE - 1);
    if (b > a) madvise((void*) a, b - a, MADV_HUGEPAGE);
    uint16_t* w = (uint16_t*) p;
    for (int64_t j = 0; j < bytes / 2; j++) w[j] = random_bf16(1.0f / 4096);
    return w;
}

static int align(int64_t M) {
    uint16_t *wa[113], *wb[113];
    int64_t N[113], K[113];
    for (int i = 0; i < 113; i++) {
        linear_1b(i, &N[i], &K[i]);
        wa[i] = placed(N[i] * K[i] * 2, 1, i);
        wb[i] = placed(N[i] * K[i] * 2, 0, i);
    }
    uint16_t* x = aligned_alloc(64, M * 8192 * 2 + 64);
    uint16_t* out = aligned_alloc(64, M * 128256 * 2 + 64);
    for (int64_t i = 0; i < M * 8192; i++) x[i] = random_bf16(1.0f / 1024);
    for (int round = 0; round < 8; round++) {
        double t[2] = {1e9, 1e9};
        for (int it = 0; it < 4; it++) {
            for (int side = 0; side < 2; side++) {
                const int which = (round + it + side) % 2;   /* which placement runs first swaps every iteration */
                uint16_t** w = which == 0 ? wa : wb;
                const double t0 = now();
                for (int i = 0; i < 113; i++) row_major(x, w[i], out, M, N[i], K[i]);
                const double dt = now() - t0;
                if (dt < t[which]) t[which] = dt;
            }
        }
        printf("%ld rows through the 113 linears: from 2 MiB boundaries %.2f ms, from 4 KiB pages %.2f ms (%.3f)\n", M,
               t[0] * 1e3, t[1] * 1e3, t[1] / t[0]);
    }
    return 0;
}

int main(int argc, char** argv) {
    if (best_isa() != ISA_AVX512_BF16) return printf("needs AVX-512 BF16\n"), 2;
    isa = ISA_AVX512_BF16;
    if (argc > 1 && strcmp(argv[1], "check") == 0) return check();
    if (argc > 3 && strcmp(argv[1], "time") == 0) return timed(atol(argv[2]), atol(argv[3]), argc > 4 ? atol(argv[4]) : 2048);
    if (argc > 2 && strcmp(argv[1], "layers") == 0) return layers(atol(argv[2]));
    if (argc > 2 && strcmp(argv[1], "align") == 0) return align(atol(argv[2]));
    printf("usage: %s check | time ROWS CHANNELS [INPUTS] | layers ROWS | align ROWS\n", argv[0]);
    return 2;
}
