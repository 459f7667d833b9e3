/*
 * A kernel harness, not part of the build: decode_attention (src/main/native/llamaserve_ops/attention.c) on Llama 3's
 * heads (32 query heads over 8 KV heads, head dim 64 as the 1B or 128 as the 8B; pages of 16), SEQUENCES at CONTEXT
 * positions each, their pages spread over a pool of 65,536 slots, each call timed warm (its keys and values where the
 * call before left them: in L2 where they fit) and cold (after a 256 MiB read on every thread, as a decode step finds
 * them after its weights streamed past; the read runs on all threads so that none is asleep when the call starts). On
 * Linux x86-64 with gcc:
 *
 *   gcc -O3 -fopenmp -std=gnu11 src/test/native/attention_harness.c -o /tmp/attention -lm -ldl -lpthread
 *   OMP_NUM_THREADS=2 /tmp/attention CONTEXT [SEQUENCES [ISA [HEAD_DIM [PREFILL]]]]
 *
 * ISA 2 AVX-512 BF16, 1 AVX2 (default: the best this CPU has); HEAD_DIM 64 (the 1B's, the default) or 128 (the 8B's);
 * PREFILL 1: the SEQUENCES rows are one sequence's prefill chunk instead, at positions CONTEXT - SEQUENCES to
 * CONTEXT - 1 (one table: the call attends in tiles, PREFILL_ATTENTION).
 *
 * It prints the medians of 400 warm and 100 cold calls (20 and 5 for a prefill), three rounds. Built without
 * -march=native, so that the AVX2 bodies are AVX2's code. To compare with another commit: unpack its kernels
 * (git archive REV src/main/native | tar -x -C /tmp/rev), copy this file and harness_kernels.h to
 * /tmp/rev/src/test/native, build there, alternate the two.
 */
#include "harness_kernels.h"

static int by_value(const void* a, const void* b) {
    const double x = *(const double*) a, y = *(const double*) b;
    return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
    if (argc < 2) return printf("usage: %s CONTEXT [SEQUENCES [ISA [HEAD_DIM [PREFILL]]]]\n", argv[0]), 2;
    const int64_t S = 65536, KVH = 8, NH = 32, PS = 16, len = atol(argv[1]), B = argc > 2 ? atol(argv[2]) : 1;
    const int64_t D = argc > 4 ? atol(argv[4]) : 64;
    if (D != 64 && D != 128) return printf("HEAD_DIM: 64 or 128\n"), 2;
    const int64_t P = (len + PS - 1) / PS;
    const int prefill = argc > 5 && atoi(argv[5]) == 1;
    const int warm_n = prefill ? 20 : 400, cold_n = prefill ? 5 : 100;
    const int64_t tables_n = prefill ? 1 : B;   /* a prefill's rows share one sequence's table */
    if (B < 1 || len < (prefill ? B : 1) || tables_n * P > S / PS)
        return printf("CONTEXT x SEQUENCES must fit %ld slots (a prefill: SEQUENCES <= CONTEXT)\n", (long) S), 2;
    isa = argc > 3 ? atoi(argv[3]) : best_isa();
    if (isa != best_isa() && !(isa == ISA_AVX2 && best_isa() == ISA_AVX512_BF16))
        return printf("this CPU has no ISA %d\n", isa), 2;
    uint16_t* kc = malloc((size_t) (S * KVH * D * 2));   /* [S, KVH, D] bf16 */
    uint16_t* vc = malloc((size_t) (S * KVH * D * 2));
    uint16_t* q = malloc((size_t) (B * NH * D * 2));      /* [B, NH, D] */
    uint16_t* out = malloc((size_t) (B * NH * D * 2));
    int64_t* tables = malloc((size_t) (B * P * 8));       /* [B, P]: page p of sequence b, every third page */
    int64_t* pos = malloc((size_t) (B * 8));
    const size_t flush_bytes = (size_t) 256 << 20;
    char* flush = malloc(flush_bytes);
    if (!kc || !vc || !q || !out || !tables || !pos || !flush) return printf("out of memory\n"), 1;
    srand(1);
    for (int64_t i = 0; i < S * KVH * D; i++) {
        kc[i] = f32_to_bf16((float) rand() / (float) RAND_MAX - 0.5f);
        vc[i] = f32_to_bf16((float) rand() / (float) RAND_MAX - 0.5f);
    }
    for (int64_t i = 0; i < B * NH * D; i++) q[i] = f32_to_bf16((float) rand() / (float) RAND_MAX - 0.5f);
    for (int64_t b = 0; b < B; b++) {
        pos[b] = prefill ? len - B + b : len - 1;
        for (int64_t p = 0; p < P; p++) tables[b * P + p] = (p * tables_n + b % tables_n) * 3 % (S / PS);
    }
    memset(flush, 1, flush_bytes);
    printf("isa %d, body %d (2 register-tiled, 1 generic)\n", isa, attention_body(NH / KVH, D));
    double warm[400], cold[100];
    long sink = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < warm_n; i++) {
            const double t0 = now();
            decode_attention_run(q, kc, vc, tables, pos, out, B, NH, KVH, D, P, PS);
            warm[i] = now() - t0;
        }
        for (int i = 0; i < cold_n; i++) {
            long sum = 0;
#pragma omp parallel for reduction(+:sum)
            for (size_t j = 0; j < flush_bytes; j += 64) sum += flush[j];
            sink += sum;
            const double t0 = now();
            decode_attention_run(q, kc, vc, tables, pos, out, B, NH, KVH, D, P, PS);
            cold[i] = now() - t0;
        }
        qsort(warm, (size_t) warm_n, sizeof(double), by_value);
        qsort(cold, (size_t) cold_n, sizeof(double), by_value);
        printf("%ld %s x %ld positions: warm %.1f us, cold %.1f us (medians)\n", (long) B,
               prefill ? "prefill rows" : "sequences", (long) len, warm[warm_n / 2] * 1e6, cold[cold_n / 2] * 1e6);
    }
    return sink == 42 ? 3 : 0;   /* the reads' sum, used */
}
