/*
 * A kernel harness, not part of the build: AVX2's bf16 linear on its AVX-512F body (linear512f_bf16) against its own
 * (linear256_bf16), from llama-serve's kernels (src/main/native/llamaserve_ops.c, included below); and the cores'
 * float32 multiply-add rate on registers, 16 and 8 lanes wide (docs/native-cpu-kernels.md, "AVX-512 without BF16").
 * On Linux x86-64 with gcc and AVX-512F:
 *
 *   gcc -O3 -fopenmp -std=gnu11 src/test/native/avx512f_harness.c -o /tmp/f512 -lm -ldl -lpthread
 *   OMP_NUM_THREADS=2 /tmp/f512 check      each product of 6 shapes within bf16's rounding of the float64 one, and
 *                                          each row what a call with that row alone gives (exit 1 otherwise)
 *   OMP_NUM_THREADS=2 /tmp/f512 layers M   M rows through the 113 linears of the 1B shape (2.47 GB, 2 MiB pages),
 *                                          both bodies alternated, best of 3, three rounds
 *   OMP_NUM_THREADS=2 /tmp/f512 peak       vfmadd231ps on registers, zmm and ymm, on every thread
 *   OMP_NUM_THREADS=2 /tmp/f512 w8a8 M...  one row, then M rows, through the 113 linears as W8A8 (gemm512_w8a8,
 *                                          blocked int8), best of 6: each M's time against one row's
 *   OMP_NUM_THREADS=2 /tmp/f512 int8 M...  M rows through the 113 linears as int8 with bf16 rows (linear_int8),
 *                                          AVX2's body and the AVX-512F one alternated, best of 4
 */
#include "harness_kernels.h"

static uint64_t seed = 88172645463325252ull;

/* a bf16 uniform in [-scale, scale) (xorshift) */
static uint16_t random_bf16(float scale) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return f32_to_bf16((float) ((int64_t) (seed >> 40) - (1 << 23)) / (float) (1 << 23) * scale);
}

/* the 113 linears of one decode step of the 1B shape (16 layers: q, k, v, o, gate, up, down; the lm_head) */
static void linear_1b(int i, int64_t* N, int64_t* K) {
    static const int64_t shape[8][2] = {{2048, 2048}, {512, 2048}, {512, 2048}, {2048, 2048}, {8192, 2048},
                                        {8192, 2048}, {2048, 8192}, {128256, 2048}};
    const int s = i == 112 ? 7 : i % 7;
    *N = shape[s][0], *K = shape[s][1];
}

static int check(void) {
    static const int64_t shapes[][3] = {{7, 52, 64}, {16, 2048, 2048}, {5, 13, 96}, {1, 4, 32}, {70, 24, 8192},
                                        {300, 9, 2048}};
    int failed = 0;
    for (int s = 0; s < 6; s++) {
        const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        uint16_t *x = malloc(m * k * 2), *w = malloc(n * k * 2), *o = malloc(m * n * 2), *o1 = malloc(n * 2);
        for (int64_t i = 0; i < m * k; i++) x[i] = random_bf16(1);
        for (int64_t i = 0; i < n * k; i++) w[i] = random_bf16(1);
        linear512f_bf16(x, w, NULL, o, m, n, k);
        int64_t apart = 0, far = 0;
        double worst = 0;
        for (int64_t r = 0; r < m; r++) {
            linear512f_bf16(x + r * k, w, NULL, o1, 1, n, k);
            for (int64_t c = 0; c < n; c++) {
                apart += o1[c] != o[r * n + c];
                double ref = 0, mag = 0;
                for (int64_t q = 0; q < k; q++) {
                    const double p = (double) bf16_to_f32(x[r * k + q]) * bf16_to_f32(w[c * k + q]);
                    ref += p;
                    mag += fabs(p);
                }
                const double e = fabs(bf16_to_f32(o[r * n + c]) - ref) / (fabs(ref) / 256 + mag * k * 6e-8 + 1e-30);
                worst = e > worst ? e : worst;
                far += e > 1;
            }
        }
        printf("%ld x %ld x %ld: %ld outputs differ from the row alone, %ld past bf16's rounding (worst %.2f of it)\n",
               m, n, k, apart, far, worst);
        failed |= apart != 0 || far != 0;
        free(x), free(w), free(o), free(o1);
    }
    return failed;
}

static void avx2_body(const uint16_t* x, const void* w, const uint16_t* s, uint16_t* o, int64_t M, int64_t N,
                      int64_t K) {
    linear256_bf16(x, w, s, o, M, N, K);
}

static void avx512f_body(const uint16_t* x, const void* w, const uint16_t* s, uint16_t* o, int64_t M, int64_t N,
                         int64_t K) {
    linear512f_bf16(x, w, s, o, M, N, K);
}

static int layers(int64_t M) {
    uint16_t* w[113];
    int64_t N[113], K[113];
    double flops = 0;
    for (int i = 0; i < 113; i++) {
        linear_1b(i, &N[i], &K[i]);
        w[i] = aligned_alloc(2 << 20, (N[i] * K[i] * 2 + (2 << 20) - 1) & ~(int64_t) ((2 << 20) - 1));
        madvise(w[i], N[i] * K[i] * 2, MADV_HUGEPAGE);
        for (int64_t j = 0; j < N[i] * K[i]; j++) w[i][j] = random_bf16(1.0f / 64);
        flops += 2.0 * M * N[i] * K[i];
    }
    uint16_t* x = aligned_alloc(64, M * 8192 * 2 + 64);
    uint16_t* out = aligned_alloc(64, M * 128256 * 2 + 64);
    for (int64_t i = 0; i < M * 8192; i++) x[i] = random_bf16(1);
    for (int round = 0; round < 3; round++) {
        double t[2] = {1e9, 1e9};
        for (int it = 0; it < 3; it++)
            for (int side = 0; side < 2; side++) {
                const double t0 = now();
                for (int i = 0; i < 113; i++) (side ? avx512f_body : avx2_body)(x, w[i], NULL, out, M, N[i], K[i]);
                const double dt = now() - t0;
                if (dt < t[side]) t[side] = dt;
            }
        printf("%ld rows through the 113 linears: AVX2 body %.1f ms (%.1f GFLOP/s), AVX-512F body %.1f ms (%.1f)\n",
               M, t[0] * 1e3, flops / t[0] / 1e9, t[1] * 1e3, flops / t[1] / 1e9);
    }
    return 0;
}

/* the 113 linears of the 1B shape as blocked int8 with their scales (1.24 GB, 2 MiB pages) */
static void int8_1b(int8_t* q[113], uint16_t* sc[113], int64_t N[113], int64_t K[113]) {
    for (int i = 0; i < 113; i++) {
        linear_1b(i, &N[i], &K[i]);
        const int64_t bytes = (N[i] * K[i] + (2 << 20) - 1) & ~(int64_t) ((2 << 20) - 1);
        uint16_t* w = malloc(N[i] * K[i] * 2);
        q[i] = aligned_alloc(2 << 20, bytes);
        madvise(q[i], bytes, MADV_HUGEPAGE);
        sc[i] = malloc(N[i] * 2);
        for (int64_t j = 0; j < N[i] * K[i]; j++) w[j] = random_bf16(1.0f / 64);
        quantize_rows(w, q[i], sc[i], N[i], K[i]);
        free(w);
    }
}

/* int8 weights with bf16 rows (linear_int8): AVX2's body (gemv256_int8) against the AVX-512F one (linear512f_int8),
   M rows for each M given, alternated, best of 4 */
static int int8(int argc, char** argv) {
    int8_t* q[113];
    uint16_t* sc[113];
    int64_t N[113], K[113];
    int8_1b(q, sc, N, K);
    uint16_t* x = aligned_alloc(64, 512 * 8192 * 2 + 64);
    uint16_t* out = aligned_alloc(64, 512 * 128256 * 2 + 64);
    for (int64_t i = 0; i < 512 * 8192; i++) x[i] = random_bf16(1);
    for (int a = 2; a < argc; a++) {
        const int64_t M = atol(argv[a]) < 512 ? atol(argv[a]) : 512;
        double t[2] = {1e9, 1e9};
        for (int it = 0; it < 4; it++)
            for (int side = 0; side < 2; side++) {
                const double t0 = now();
                for (int i = 0; i < 113; i++)
                    (side ? linear512f_int8 : gemv256_int8)(x, q[i], sc[i], out, M, N[i], K[i]);
                t[side] = now() - t0 < t[side] ? now() - t0 : t[side];
            }
        printf("int8, %ld rows through the 113 linears: AVX2 body %.1f ms, AVX-512F body %.1f ms\n", M, t[0] * 1e3,
               t[1] * 1e3);
    }
    return 0;
}

/*
 * W8A8 on this CPU (AVX-512 VNNI without BF16): M rows (each count given) through the 113 linears of the 1B shape as
 * blocked int8 (1.24 GB, 2 MiB pages), gemm512_w8a8, best of 6, in one process: its time for one row over its time
 * for M is what M streams could gain over one, were the linears the whole step
 */
static int w8a8(int argc, char** argv) {
    if (!w8a8_ready) {
        fprintf(stderr, "this CPU has no AVX-512 VNNI\n");
        return 2;
    }
    int8_t* q[113];
    uint16_t* sc[113];
    int64_t N[113], K[113];
    int8_1b(q, sc, N, K);
    int64_t most = 1;
    for (int a = 2; a < argc; a++) most = atol(argv[a]) > most ? atol(argv[a]) : most;
    uint16_t* x = aligned_alloc(64, most * 8192 * 2 + 64);
    uint16_t* out = aligned_alloc(64, most * 128256 * 2 + 64);
    for (int64_t i = 0; i < most * 8192; i++) x[i] = random_bf16(1);
    double one = 0;
    for (int a = 1; a < argc; a++) {
        const int64_t M = a == 1 ? 1 : atol(argv[a]);
        double flops = 0, t = 1e9;
        for (int i = 0; i < 113; i++) flops += 2.0 * M * N[i] * K[i];
        for (int it = 0; it < 6; it++) {
            const double t0 = now();
            for (int i = 0; i < 113; i++) gemm512_w8a8(x, q[i], sc[i], out, M, N[i], K[i]);
            t = now() - t0 < t ? now() - t0 : t;
        }
        if (M == 1) one = t;
        printf("W8A8, %ld rows through the 113 linears: %.1f ms (%.1f G int8 ops/s), one row's time x %ld over it: "
               "%.2f\n", M, t * 1e3, flops / t / 1e9, M, one * M / t);
    }
    return 0;
}

/* 12 independent multiply-add chains on registers, n times, on every thread: G multiply-adds per second per thread */
#define FMA12(R)                                                                                               \
    "vfmadd231ps %%" R "17, %%" R "16, %%" R "0\n vfmadd231ps %%" R "17, %%" R "16, %%" R "1\n"                \
    "vfmadd231ps %%" R "17, %%" R "16, %%" R "2\n vfmadd231ps %%" R "17, %%" R "16, %%" R "3\n"                \
    "vfmadd231ps %%" R "17, %%" R "16, %%" R "4\n vfmadd231ps %%" R "17, %%" R "16, %%" R "5\n"                \
    "vfmadd231ps %%" R "17, %%" R "16, %%" R "6\n vfmadd231ps %%" R "17, %%" R "16, %%" R "7\n"                \
    "vfmadd231ps %%" R "17, %%" R "16, %%" R "8\n vfmadd231ps %%" R "17, %%" R "16, %%" R "9\n"                \
    "vfmadd231ps %%" R "17, %%" R "16, %%" R "10\n vfmadd231ps %%" R "17, %%" R "16, %%" R "11\n"
#define FMA_LOOP(R)                                                                                            \
    __asm__ volatile("vxorps %%xmm16, %%xmm16, %%xmm16\n vxorps %%xmm17, %%xmm17, %%xmm17\n 1:\n" FMA12(R)      \
                     "dec %0\n jnz 1b\n"                                                                       \
                     : "+r"(i)                                                                                 \
                     :                                                                                         \
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",  \
                       "xmm11", "xmm16", "xmm17")

T512B static int peak(void) {
    const long n = 100000000;
    for (int rep = 0; rep < 2; rep++) {
        int threads = 1;
        double t0 = now();
#pragma omp parallel
        {
            long i = n;
            FMA_LOOP("zmm");
#pragma omp single
            threads = omp_get_num_threads();
        }
        const double zmm = now() - t0;
        t0 = now();
#pragma omp parallel
        {
            long i = n;
            FMA_LOOP("ymm");
        }
        const double ymm = now() - t0;
        printf("%d threads: zmm %.1f GFLOP/s, ymm %.1f GFLOP/s\n", threads, threads * n * 12 * 32 / zmm / 1e9,
               threads * n * 12 * 16 / ymm / 1e9);
    }
    return 0;
}

int main(int argc, char** argv) {
    isa = best_isa();
    avx512f_ready = avx512f_linear = avx512f_detect();
    w8a8_ready = w8a8_detect();
    if (!avx512f_ready) {
        fprintf(stderr, "this CPU has no AVX-512 F/BW/VL/DQ\n");
        return 2;
    }
    if (argc > 1 && strcmp(argv[1], "check") == 0) return check();
    if (argc > 2 && strcmp(argv[1], "layers") == 0) return layers(atol(argv[2]));
    if (argc > 1 && strcmp(argv[1], "peak") == 0) return peak();
    if (argc > 1 && strcmp(argv[1], "w8a8") == 0) return w8a8(argc, argv);
    if (argc > 1 && strcmp(argv[1], "int8") == 0) return int8(argc, argv);
    fprintf(stderr, "usage: %s check | layers M | peak\n", argv[0]);
    return 2;
}
