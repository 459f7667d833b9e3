/*
 * llama-serve's CPU kernels for the decode step, registered with libtorch's dispatcher through the stable C shim
 * that libtorch_cpu.so 2.7.1 exports (torch/csrc/inductor/aoti_torch/c/shim.h): no libtorch headers, no C++, so
 * the library builds with a plain gcc and binds to whatever libtorch DJL has loaded. llama_step.py calls
 *   ops.llamaserve.linear_bf16(x, w)          x [M, K] bf16, w [N, K] bf16                  -> [M, N] bf16
 *   ops.llamaserve.block_int8(q)              q [N, K] int8 -> the same values blocked (below), [N, K] int8
 *   ops.llamaserve.quantize_int8(raw)         bf16 bits [N, 2K] uint8 -> (blocked q, scale [N] bf16), as to_int8
 *   ops.llamaserve.linear_int8(x, qb, scale)  x [M, K] bf16, qb [N, K] int8 blocked, scale [N] bf16 -> [M, N] bf16
 *   ops.llamaserve.linear_w8a8(x, qb, scale)  the same, the rows of x quantized to int8 per row (AVX-512 VNNI only)
 *   ops.llamaserve.widen_int8(qb, out)        qb blocked -> out [N, K] bf16, row-major (prefill: oneDNN's GEMM)
 *   ops.llamaserve.decode_attention(q, k_cache, v_cache, tables, pos, page_size)
 *                                             a query per row [B, NH, D], each against its paged bf16 K/V up to
 *                                             its position -> [B, NH, D] bf16 (llama_step.py's attend): decode
 *                                             rows, and prefill chunks' rows (in tiles: PREFILL_ATTENTION)
 *   ops.llamaserve.rms_norm(x, w, eps)        x [T, H] bf16, w [H] bf16 -> [T, H] bf16 (llama_step.py's rms_norm)
 *   ops.llamaserve.add_rms_norm(x, r, w, eps) the residual add before it too: -> (x + r, rms_norm(x + r)) [T, H] bf16
 *   ops.llamaserve.silu_mul(gate, up)         [T, I] bf16 -> silu(gate) * up [T, I] bf16, bit for bit torch's two ops
 *   ops.llamaserve.silu_ready()               1 where silu_mul can run (ATen's SLEEF exp found for the ISA in use)
 *   ops.llamaserve.rope_kv(q, k, v, cos, sin, k_cache, v_cache, slots)
 *                                             rotary embedding of q [T, NH, D] and k [T, KVH, D], k and v written
 *                                             to their bf16 caches' slots -> q rotated (llama_step.py's rope_kv)
 *   ops.llamaserve.decoder_layer(x, r, input_layernorm, q_proj, ..., down_proj, k_cache, v_cache, cos, sin, slots,
 *                                tables, pos, page_size, eps, residual)
 *                                             one decoder layer of a step whose ops all run here (bf16), in one call
 *                                             -> (x + attention, down_proj): the ops above in the script's order
 *   ops.llamaserve.decoder_layer_int8(x, r, input_layernorm, q_proj, q_scale, ..., down_proj, down_scale, k_cache,
 *                                v_cache, cos, sin, slots, tables, pos, page_size, eps, residual, w8a8)
 *                                             the same with blocked int8 weights (linear_int8, or linear_w8a8)
 *   ops.llamaserve.isa(force)                 the instruction set in use (0 none, 1 AVX2+FMA, 2 AVX-512 BF16);
 *                                             force >= 0 chooses one this CPU has (tests), -2 the best it has,
 *                                             -1 only asks
 *   ops.llamaserve.attention_body(group, head_dim)
 *                                             decode_attention's body for that shape on the ISA in use: 2 the
 *                                             register-tiled one, 1 the generic one, 0 none (the script attends)
 *   ops.llamaserve.huge_pages(t, written)     contiguous t's memory onto 2 MiB pages: its pages dropped and advised
 *                                             (written 0: t is about to be filled), or advised and collapsed (1):
 *                                             the bytes, 0 where none, -1 where off
 *   ops.llamaserve.huge_offset(t)             the bytes from t's first byte to the next 2 MiB boundary (0: on one)
 *   ops.llamaserve.copy_raw(out, raw)         raw's bytes (uint8) into out of as many bytes: the bytes, 0 if not
 *   ops.llamaserve.amx(force)                 whether linear_bf16/int8 run on AMX tiles (1) or not (0); force 1 or 0
 *                                             switches (1 only where the CPU has AMX-BF16), -1 only asks
 *   ops.llamaserve.gemm_prefetch(force)       whether the several-row kernels (bf16, int8, W8A8; without AMX) prefetch
 *                                             the next weights into L1 (1) or L2 (0), and W8A8's 1-3 rows each
 *                                             block's successor into L1 (1) or not (0); by default 1 where L1d
 *                                             holds 48 KiB; force 1 or 0 switches, -1 asks
 *   ops.llamaserve.gemm_apart(force)          where the several-row bf16 kernel copies its rows 2 KiB from the
 *                                             weights' offset within 4 KiB (rows_apart): 1 where they lie within
 *                                             1 KiB of it (the default), 2 always, 0 never; force 0-2 switches, -1 asks
 * out[m, n] = sum_k x[m, k] * w[n, k] in float32 (times scale[n] for int8), rounded to bf16 as torch rounds. int8
 * weights are widened exactly (|q| <= 127 fits bf16's 8-bit significand), so linear_int8 computes what
 * linear(x, widen(q)) * scale computes, in another order of summation.
 *
 * The blocked int8 layout: the 32 inputs k0..k0+31 of the four channels n0..n0+3 lie together, 128 bytes,
 *   qb[((n / 4) * (K / 32) + k / 32) * 128 + (n % 4) * 32 + k % 32] = q[n, k]     (N % 4 == 0, K % 32 == 0)
 * so a thread reads each block of four channels as one sequential stream. Row-major, the four channels are four
 * streams a row apart, and the int8 GEMV read its weights at half the rate of the bf16 one (see
 * docs/native-cpu-kernels.md); blocked, it reads them as fast as memory delivers.
 *
 * Threads: OpenMP, whose GOMP_* symbols resolve through libtorch_cpu.so's own libgomp: one team, not two.
 */
#include <cpuid.h>
#include <dlfcn.h>
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef int32_t AOTITorchError;
typedef struct AtenTensorOpaque* AtenTensorHandle;
typedef struct TorchLibraryOpaque* TorchLibraryHandle;
typedef uint64_t StableIValue;

extern AOTITorchError aoti_torch_library_init_def(const char* ns, const char* file, uint32_t line,
                                                  TorchLibraryHandle* ret);
extern AOTITorchError aoti_torch_library_init_impl(const char* ns, const char* k, const char* file, uint32_t line,
                                                   TorchLibraryHandle* ret);
extern AOTITorchError aoti_torch_library_def(TorchLibraryHandle self, const char* schema);
extern AOTITorchError aoti_torch_library_impl(TorchLibraryHandle self, const char* name,
                                              void (*fn)(StableIValue*, uint64_t, uint64_t));
extern AOTITorchError aoti_torch_get_data_ptr(AtenTensorHandle t, void** ret);
extern AOTITorchError aoti_torch_get_sizes(AtenTensorHandle t, int64_t** ret);
extern AOTITorchError aoti_torch_get_strides(AtenTensorHandle t, int64_t** ret);
extern AOTITorchError aoti_torch_get_dim(AtenTensorHandle t, int64_t* ret);
extern AOTITorchError aoti_torch_get_dtype(AtenTensorHandle t, int32_t* ret);
extern AOTITorchError aoti_torch_empty_strided(int64_t ndim, const int64_t* sizes, const int64_t* strides,
                                               int32_t dtype, int32_t device_type, int32_t device_index,
                                               AtenTensorHandle* ret);
extern AOTITorchError aoti_torch_delete_tensor_object(AtenTensorHandle t);
extern AOTITorchError aoti_torch_get_numel(AtenTensorHandle t, int64_t* ret);
extern int32_t aoti_torch_dtype_bfloat16(void);
extern int32_t aoti_torch_dtype_float16(void);
extern int32_t aoti_torch_dtype_float32(void);
extern int32_t aoti_torch_dtype_int8(void);
extern int32_t aoti_torch_dtype_int64(void);
extern int32_t aoti_torch_dtype_uint8(void);
extern int32_t aoti_torch_device_type_cpu(void);

enum { ISA_NONE = 0, ISA_AVX2 = 1, ISA_AVX512_BF16 = 2 };
static int isa = ISA_NONE;

static float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t) h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint16_t f32_to_bf16(float f) {
    /* round to nearest even, as torch does; NaN stays NaN */
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t) ((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t) (u >> 16);
}

static void store(uint16_t* out, int64_t N, int64_t m, int64_t n, float sum, int q8, const uint16_t* scale) {
    out[m * N + n] = f32_to_bf16(q8 ? sum * bf16_to_f32(scale[n]) : sum);
}

/* where q[n, k] lies in the blocked int8 layout (the top of this file): the one place that knows it */
static inline int64_t blocked(int64_t n, int64_t k, int64_t K) {
    return ((n / 4) * (K / 32) + k / 32) * 128 + (n % 4) * 32 + k % 32;
}

/* ---- AVX-512 BF16: 32 inputs per dot product, 4 channels x up to 4 rows ---- */
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx512vbmi")))

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
T512 static inline __m512 bf16x16_f32(const uint16_t* p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*) p)), 16));
}

/* 16 float32 rounded to bf16 as f32_to_bf16 rounds them (NaN kept NaN), in the top halves of 16 int32 */
T512 static inline __m512i round_bf16x16(__m512 y) {
    const __m512i u = _mm512_castps_si512(y);
    const __m512i r = _mm512_and_si512(_mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff),
            _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1)))), _mm512_set1_epi32((int) 0xffff0000u));
    const __mmask16 nan = _mm512_cmp_ps_mask(y, y, _CMP_UNORD_Q);
    return _mm512_mask_or_epi32(r, nan, _mm512_and_si512(u, _mm512_set1_epi32((int) 0xffff0000u)),
                                _mm512_set1_epi32(0x00400000));
}

/* 16 values round_bf16x16 rounded -> their 16 bf16 */
T512 static inline __m256i bf16x16_pack(__m512i rounded) {
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(rounded, 16));
}

/* 16 float32 -> 16 bf16 as f32_to_bf16 rounds them */
T512 static inline __m256i f32x16_bf16(__m512 y) {
    return bf16x16_pack(round_bf16x16(y));
}

/*
 * 8 channels' sums of one row's two bytes (amx512_a16's high and low rows, exact int32) joined: float(256 hi + lo),
 * exact in double and rounded once, the same in the tile and the VNNI epilogue
 */
T512 static inline __m256 join_bytes8(__m256i hi, __m256i lo) {
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
 * widened, taken by the calling thread (w8_scratch); amx8_rows' copy of a group's weights, taken by each thread of its
 * region; decoder_layer's activations of many rows (layer_work); the prefill attention's sums of every thread
 * (decode_attention_run), taken by the calling thread; gemm512_bf16's copy of its rows (rows_apart).
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
/* T512 and VNNI: T512's helpers (bf16x16_f32) inline here only where its targets are a subset of these (VBMI too:
   every caller runs with ISA_AVX512_BF16, which requires it) */
#define T512V __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx512vbmi,avx512vnni")))
#define W8_MC 4   /* the tail switch in gemm512_w8a8 takes 1-3 rows */
#define W8_NB 2   /* blocks of a tile of W8_MC rows (2: 16 accumulators) */
#define W8_STREAMS_MAX 4   /* blocks of a call of one or two rows (one stream each): 16 accumulators */
#define W8_ROW_TILE 64

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
    const int l1 = gemm_pf_l1;
    for (int64_t k = 0; k < K; k += 32) {
        for (int64_t l = (k / 32) * perStep; l < pfLines && l < (k / 32 + 1) * perStep; l++)
            prefetch_next(pf + l * 64, l1);   /* where tile512's go (gemm512_w8a8) */
        __m512i wv[2 * W8_STREAMS_MAX];   /* q + 128 as uint8: channels 4b, 4b+1 | 4b+2, 4b+3 of block b */
        for (int b = 0; b < NB; b++) {
            const int8_t* p = qb + blocked(n[b], k, K);
            if (ahead) {   /* the same inputs of the next block of this block's stream (a prefetch never faults) */
                _mm_prefetch((const char*) p + 4 * K, _MM_HINT_T0);
                _mm_prefetch((const char*) p + 4 * K + 64, _MM_HINT_T0);
            }
            wv[2 * b] = _mm512_xor_si512(_mm512_loadu_si512(p), flip);
            wv[2 * b + 1] = _mm512_xor_si512(_mm512_loadu_si512(p + 64), flip);
        }
        for (int i = 0; i < MC; i++) {
            const __m512i xv = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i*) (xq + (m0 + i) * K + k)));
            for (int j = 0; j < 2 * NB; j++) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], wv[j], xv);
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
 * back, the bytes interleaved into words (vpermt2b): widen64 (with the AVX-512 kernels above).
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
 * quads (int8) as tile B wants them, [16][16] 32-bit; the classic 16 x 16 transpose (unpacks, then 128-bit shuffles)
 */
T512 static inline void transpose16(const uint32_t* src, int64_t ld, int64_t valid, uint32_t* dst) {
    __m512i r[16], t[16];
    for (int m = 0; m < 16; m++) r[m] = m < valid ? _mm512_loadu_si512(src + m * ld) : _mm512_setzero_si512();
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

/* ---- AVX2 + FMA: 8 inputs per multiply-add in float32; int8 in blocks of 4 channels, bf16 two channels at a time ---- */
#define T256 __attribute__((target("avx2,fma")))

T256 static inline __m256 bf16x8_f32(const uint16_t* p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*) p)), 16));
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
 * AVX2's one order of summation for bf16 (tile256_bf16, whichever way it takes the rows): 16 inputs per step into two accumulators
 * per row and channel (bf16x16_even_odd's even and odd inputs), their sum added up across lanes (hsum256), then the
 * last K % 16 inputs one at a time -> out
 */
T256 static inline __attribute__((always_inline)) void store256_bf16(const __m256* acc, const uint16_t* x,
        const uint16_t* w, uint16_t* out, int64_t N, int64_t K, int64_t m, int64_t n) {
    float s = hsum256(_mm256_add_ps(acc[0], acc[1]));
    for (int64_t k = K & ~(int64_t) 15; k < K; k++) s += bf16_to_f32(w[n * K + k]) * bf16_to_f32(x[m * K + k]);
    store(out, N, m, n, s, 0, NULL);
}

/*
 * Rows m0 .. m0+MR-1 (MR <= 3) against channels a and (two) b, in store256_bf16's order: the rows' inputs widened
 * here (one or two rows) or, where `widened`, taken from xw (gemm256_bf16: per 16, the 8 even ones then the 8 odd
 * ones) as memory operands: 12 accumulators and the two channels' 4 vectors of weights fill the 16 registers.
 */
T256 static inline __attribute__((always_inline)) void tile256_bf16(const float* xw, const uint16_t* x,
        const uint16_t* w, uint16_t* out, int64_t N, int64_t K, int64_t m0, int64_t a, int64_t b, const int two,
        const int MR, const int widened) {
    const int64_t K16 = K & ~(int64_t) 15;
    __m256 acc[3][2][2];   /* [row][channel a, b][even, odd] */
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < 2; j++) acc[i][j][0] = acc[i][j][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K16; k += 16) {
        __m256 wv[2][2];
        bf16x16_even_odd(w + a * K + k, &wv[0][0], &wv[0][1]);
        if (two) bf16x16_even_odd(w + b * K + k, &wv[1][0], &wv[1][1]);
        for (int i = 0; i < MR; i++) {
            __m256 xv[2];
            if (widened) {
                xv[0] = _mm256_loadu_ps(xw + (m0 + i) * K16 + k);
                xv[1] = _mm256_loadu_ps(xw + (m0 + i) * K16 + k + 8);
            } else {
                bf16x16_even_odd(x + (m0 + i) * K + k, &xv[0], &xv[1]);
            }
            for (int h = 0; h < 2; h++)
                for (int j = 0; j < 1 + two; j++) acc[i][j][h] = _mm256_fmadd_ps(wv[j][h], xv[h], acc[i][j][h]);
        }
    }
    for (int i = 0; i < MR; i++) {
        store256_bf16(acc[i][0], x, w, out, N, K, m0 + i, a);
        if (two) store256_bf16(acc[i][1], x, w, out, N, K, m0 + i, b);
    }
}

#define GEMM256_ROWS 48   /* rows per pass over the weights (their widened inputs: 384 KiB where K = 2,048) */

/*
 * AVX2's bf16 linear (CPUs without AVX-512 BF16): for each pass of GEMM256_ROWS rows, the channels walked as few512
 * walks them, each thread taking runs of channels (take_run) and walking each as two sequential streams, its halves,
 * one channel of each at a time; each pair of channels against the pass's rows in pairs widened here (xw NULL)
 * or in tiles of 3 from xw (tile256_bf16: a pair's 8 KiB of weights, K = 2,048, stay in L1 across the
 * tiles, the widened rows come from L2). Blocks of four channels side by side, as int8's, were four streams a row
 * apart, which the hardware's prefetch picks up anew at every row; and widening by zero extension and a shift took
 * two operations per 8 values where a shift or a mask of the pairs takes one. Harness, one row through the 113
 * linears of the 1B shape from memory, these AVX2 bodies on an AMD EPYC Zen 5 (2 cores), six alternations: 40.3-42.1
 * ms (58.6-61.4 GB/s) against the blocks of four's 66.9-68.2 (36.2-37.0), 42.7-43.6 with two streams widened by
 * zero extension and shift, and 38.3-39.3 for few512 on AVX-512 BF16.
 */
T256 static void walk256_bf16(const uint16_t* x, const float* xw, const uint16_t* w, uint16_t* out, int64_t M,
                              int64_t N, int64_t K) {
    for (int64_t r0 = 0; r0 < M; r0 += GEMM256_ROWS) {
        const int64_t r1 = M - r0 < GEMM256_ROWS ? M : r0 + GEMM256_ROWS;
        int64_t next = 0;
#pragma omp parallel
        {
            int64_t c0, c1;
            while (take_run(&next, N, FEW_RUN_LEAST, &c0, &c1)) {
                const int64_t half = (c1 - c0 + 1) / 2;
                for (int64_t i = 0; i < half; i++) {
                    const int64_t a = c0 + i, b = c0 + half + i < c1 ? c0 + half + i : a;
                    const int two = b != a;
                    int64_t m0 = r0;
#define TILE256(MR, WIDENED)                                                                                   \
    do {                                                                                                       \
        if (two) tile256_bf16(xw, x, w, out, N, K, m0, a, b, 1, MR, WIDENED);                                  \
        else tile256_bf16(xw, x, w, out, N, K, m0, a, a, 0, MR, WIDENED);                                      \
    } while (0)
                    if (xw == NULL) {
                        for (; m0 + 2 <= r1; m0 += 2) TILE256(2, 0);
                        if (m0 < r1) TILE256(1, 0);
                    } else {
                        for (; m0 + 3 <= r1; m0 += 3) TILE256(3, 1);
                        if (r1 - m0 == 2) TILE256(2, 1);
                        else if (r1 - m0 == 1) TILE256(1, 1);
                    }
#undef TILE256
                }
            }
        }
    }
}

/* one or two rows (and the rows of a call whose widened rows found no memory): walk256_bf16's pairs */
T256 static void few256_bf16(const uint16_t* x, const void* w, const uint16_t* scale, uint16_t* out, int64_t M,
                             int64_t N, int64_t K) {
    (void) scale;
    walk256_bf16(x, NULL, (const uint16_t*) w, out, M, N, K);
}

/*
 * AVX2's bf16 linear for three rows and more (decode steps of several sequences, prefill chunks): x widened once
 * into this thread's scratch (the even then the odd inputs of each 16), then walk256_bf16's tiles of 3 rows. Every
 * row and channel is added up in store256_bf16's order, as few256_bf16 adds up one or two rows: a sequence gets the
 * same logits alone as among others, cold or from the prefix cache. 0 where the scratch cannot be had.
 */
T256 static int gemm256_bf16(const uint16_t* x, const uint16_t* w, uint16_t* out, int64_t M, int64_t N, int64_t K) {
    const int64_t K16 = K & ~(int64_t) 15;
    int8_t* scratch = w8_scratch(M * K16 * (int64_t) sizeof(float) + 64);
    if (scratch == NULL) return 0;
    /* at a line, so that no 32-byte load of a row splits a cache line: on realloc's 16-byte alignment, 16 rows x 24,576
       x 2,048 ran 80.6-80.8 GFLOP/s (harness, Zen 5), at a line 95.1-97.2 */
    float* xw = (float*) (((uintptr_t) scratch + 63) & ~(uintptr_t) 63);
#pragma omp parallel for schedule(static) if (M * K16 >= 16384)
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K16; k += 16) {
            __m256 e, o;
            bf16x16_even_odd(x + m * K + k, &e, &o);
            _mm256_storeu_ps(xw + m * K16 + k, e);
            _mm256_storeu_ps(xw + m * K16 + k + 8, o);
        }
    walk256_bf16(x, xw, w, out, M, N, K);
    return 1;
}

/* ---- the ops ---- */

static int matrix(AtenTensorHandle t, int64_t* rows, int64_t* cols) {
    int64_t dim = 0, *sizes = 0, *strides = 0;
    aoti_torch_get_dim(t, &dim);
    if (dim != 2) return 0;
    aoti_torch_get_sizes(t, &sizes);
    aoti_torch_get_strides(t, &strides);
    *rows = sizes[0];
    *cols = sizes[1];
    return (sizes[1] <= 1 || strides[1] == 1) && (sizes[0] <= 1 || strides[0] == sizes[1]);   /* contiguous */
}

/* row-major contiguous, any number of dimensions */
static int contiguous(AtenTensorHandle t) {
    int64_t dim = 0, *sizes = 0, *strides = 0, expect = 1;
    aoti_torch_get_dim(t, &dim);
    aoti_torch_get_sizes(t, &sizes);
    aoti_torch_get_strides(t, &strides);
    for (int64_t i = dim - 1; i >= 0; i--) {
        if (sizes[i] > 1 && strides[i] != expect) return 0;
        expect *= sizes[i];
    }
    return 1;
}

static int64_t dtype(AtenTensorHandle t) {
    int32_t d = -1;
    aoti_torch_get_dtype(t, &d);
    return d;
}

/* whether t is a contiguous vector of n elements of dtype dt */
static int vector_of(AtenTensorHandle t, int64_t n, int32_t dt) {
    int64_t dim = 0, *sizes = 0;
    aoti_torch_get_dim(t, &dim);
    if (dim != 1) return 0;
    aoti_torch_get_sizes(t, &sizes);
    return sizes[0] == n && dtype(t) == dt && contiguous(t);
}

/* a new contiguous CPU tensor (ndim <= 3) */
static AtenTensorHandle empty(int64_t ndim, const int64_t* sizes, int32_t dt) {
    int64_t strides[3], step = 1;
    for (int64_t i = ndim - 1; i >= 0; i--) {
        strides[i] = step;
        step *= sizes[i];
    }
    AtenTensorHandle t = 0;
    aoti_torch_empty_strided(ndim, sizes, strides, dt, aoti_torch_device_type_cpu(), 0, &t);
    return t;
}

/*
 * stack: x, w[, scale] -> out. A call the kernels cannot take (wrong dtype, shape or layout, or no ISA) returns
 * an empty [0, 0] tensor instead of a wrong one: llama_step.py never makes such a call (LlamaModel routes only
 * bf16, contiguous weights here), and a [0, 0] result fails the step's next view loudly.
 */
enum { LINEAR_BF16, LINEAR_INT8, LINEAR_W8A8 };

/*
 * out [M, N] = x [M, K] against w [N, K] (bf16, or blocked int8 with its scales: kind), on the kernel the rows, the
 * shape and the CPU pick; 0 where a kernel that needs scratch could not have it (W8A8's quantized rows) and nothing
 * was written. The callers have checked the shapes and dtypes (linear_boxed, decoder_layer_boxed).
 */
static int linear_run(const int kind, const uint16_t* x, const void* w, const uint16_t* s, uint16_t* out, int64_t M,
                      int64_t N, int64_t K) {
    const int q8 = kind != LINEAR_BF16;
    if (kind == LINEAR_W8A8) {
        const int tiles = amx_tiles && amx_int8 && M >= AMX_W8A8_ROWS && N % 16 == 0 && K % 64 == 0;
        return (tiles ? amx512_w8a8 : gemm512_w8a8)(x, (const int8_t*) w, s, out, M, N, K);
    }
    if (amx_tiles && isa == ISA_AVX512_BF16 && q8 && amx_int8 && M <= AMX_A16_MAX_ROWS && N % 16 == 0 && K % 64 == 0
            && amx512_a16(x, (const int8_t*) w, s, out, M, N, K)) {
        return 1;   /* 16-bit activations; else (no scratch: out of memory) the kernels below */
    }
    if (amx_tiles && isa == ISA_AVX512_BF16 && N % 16 == 0 && K % 32 == 0 && amx512(x, w, q8, s, out, M, N, K)) {
        return 1;   /* else (no scratch for the rows' pairs: out of memory) the AVX-512 kernels below */
    }
    if (isa == ISA_AVX2 && !q8 && M > 2 && gemm256_bf16(x, (const uint16_t*) w, out, M, N, K)) {
        return 1;   /* else (no scratch for the widened rows: out of memory) few256_bf16, the same sums */
    }
    void (*gemv)(const uint16_t*, const void*, const uint16_t*, uint16_t*, int64_t, int64_t, int64_t) =
            isa == ISA_AVX512_BF16 ? (q8 ? (M > 4 ? gemm512_int8 : M <= 2 && N % 4 == 0 ? few512_int8 : gemv512_int8)
                                         : (M > 4 && K % 32 == 0 ? gemm512_bf16 : M <= 4 ? few512_bf16 : gemv512_bf16))
                                   : (q8 ? gemv256_int8 : few256_bf16);
    gemv(x, w, s, out, M, N, K);
    return 1;
}

static void linear_boxed(StableIValue* stack, int kind) {
    const int q8 = kind != LINEAR_BF16;
    AtenTensorHandle x = (AtenTensorHandle) (uintptr_t) stack[0];
    AtenTensorHandle w = (AtenTensorHandle) (uintptr_t) stack[1];
    AtenTensorHandle s = q8 ? (AtenTensorHandle) (uintptr_t) stack[2] : 0;
    int64_t M = 0, K = 0, N = 0, K2 = -1;
    int ok = (kind == LINEAR_W8A8 ? isa == ISA_AVX512_BF16 : isa != ISA_NONE)   /* W8A8: AVX-512 (VNNI) only */
             && matrix(x, &M, &K) && matrix(w, &N, &K2) && K == K2
             && dtype(x) == aoti_torch_dtype_bfloat16()
             && dtype(w) == (q8 ? aoti_torch_dtype_int8() : aoti_torch_dtype_bfloat16())
             && (!q8 || (N % 4 == 0 && K % 32 == 0 && vector_of(s, N, aoti_torch_dtype_bfloat16())));
    const int64_t sizes[2] = {ok ? M : 0, ok ? N : 0};
    AtenTensorHandle out = empty(2, sizes, aoti_torch_dtype_bfloat16());
    if (ok && M > 0 && N > 0) {
        void *xp = 0, *wp = 0, *sp = 0, *op = 0;
        aoti_torch_get_data_ptr(x, &xp);
        aoti_torch_get_data_ptr(w, &wp);
        if (q8) aoti_torch_get_data_ptr(s, &sp);
        aoti_torch_get_data_ptr(out, &op);
        if (!linear_run(kind, (const uint16_t*) xp, wp, (const uint16_t*) sp, (uint16_t*) op, M, N, K)) {
            aoti_torch_delete_tensor_object(out);   /* no memory for the quantized rows: refused, as above */
            const int64_t none[2] = {0, 0};
            out = empty(2, none, aoti_torch_dtype_bfloat16());
        }
    }
    /* the kernel owns its argument handles (the shim made new ones for it) */
    aoti_torch_delete_tensor_object(x);
    aoti_torch_delete_tensor_object(w);
    if (q8) aoti_torch_delete_tensor_object(s);
    stack[0] = (StableIValue) (uintptr_t) out;
}

static void linear_bf16_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    linear_boxed(stack, LINEAR_BF16);
}

static void linear_int8_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    linear_boxed(stack, LINEAR_INT8);
}

/* as linear_int8, the rows of x quantized to int8 per row (gemm512_w8a8): with AVX2 in use, refused as above */
static void linear_w8a8_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    linear_boxed(stack, LINEAR_W8A8);
}

/* blocked int8 (see the top of this file) -> row-major bf16, 32 inputs of one channel at a time */
T512 static void widen512(const int8_t* qb, uint16_t* out, int64_t N, int64_t K) {
    const int64_t blocks = N / 4;
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < blocks; b++) widen_channels512(qb, out + b * 4 * K, b * 4, 4, K);
}

T256 static void widen256(const int8_t* qb, uint16_t* out, int64_t N, int64_t K) {
    const int64_t blocks = N / 4;
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
        for (int64_t k = 0; k < K; k += 32) {
            for (int j = 0; j < 4; j++) {
                const int8_t* p = qb + blocked(b * 4 + j, k, K);
                for (int h = 0; h < 32; h += 16) {
                    /* 16 int8 -> 16 float32 -> their top 16 bits (exact: small integers) -> 16 bf16 */
                    __m256i lo = _mm256_srli_epi32(_mm256_castps_si256(int8x8_f32(p + h)), 16);
                    __m256i hi = _mm256_srli_epi32(_mm256_castps_si256(int8x8_f32(p + h + 8)), 16);
                    __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0xD8);
                    _mm256_storeu_si256((__m256i*) (out + (b * 4 + j) * K + k + h), packed);
                }
            }
        }
    }
}

/* row-major int8 -> blocked int8: 32 bytes at a time */
static void block_rows(const int8_t* q, int8_t* qb, int64_t N, int64_t K) {
    const int64_t blocks = N / 4;
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
        for (int64_t k = 0; k < K; k += 32) {
            for (int j = 0; j < 4; j++) memcpy(qb + blocked(b * 4 + j, k, K), q + (b * 4 + j) * K + k, 32);
        }
    }
}

/* stack: q -> blocked q ([0, 0] where q is not a contiguous [N, K] int8 matrix with N % 4 == 0, K % 32 == 0) */
static void block_int8_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    AtenTensorHandle q = (AtenTensorHandle) (uintptr_t) stack[0];
    int64_t N = 0, K = 0;
    int ok = matrix(q, &N, &K) && dtype(q) == aoti_torch_dtype_int8() && N % 4 == 0 && K % 32 == 0;
    const int64_t sizes[2] = {ok ? N : 0, ok ? K : 0};
    AtenTensorHandle out = empty(2, sizes, aoti_torch_dtype_int8());
    if (ok && N > 0 && K > 0) {
        void *qp = 0, *op = 0;
        aoti_torch_get_data_ptr(q, &qp);
        aoti_torch_get_data_ptr(out, &op);
        block_rows((const int8_t*) qp, (int8_t*) op, N, K);
    }
    aoti_torch_delete_tensor_object(q);
    stack[0] = (StableIValue) (uintptr_t) out;
}

/*
 * stack: blocked q, out -> out: q widened into out, a contiguous [N, K] bf16 tensor the caller keeps (the model's
 * scratch: a fresh 32 MiB tensor per call would cost more in page faults than the widening itself). A call the
 * kernels cannot take leaves out untouched and returns an empty [0, 0] tensor.
 */
static void widen_int8_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    AtenTensorHandle q = (AtenTensorHandle) (uintptr_t) stack[0];
    AtenTensorHandle out = (AtenTensorHandle) (uintptr_t) stack[1];
    int64_t N = 0, K = 0, N2 = -1, K2 = -1;
    int ok = isa != ISA_NONE && matrix(q, &N, &K) && dtype(q) == aoti_torch_dtype_int8() && N % 4 == 0
             && K % 32 == 0 && matrix(out, &N2, &K2) && N2 == N && K2 == K && dtype(out) == aoti_torch_dtype_bfloat16();
    if (ok && N > 0 && K > 0) {
        void *qp = 0, *op = 0;
        aoti_torch_get_data_ptr(q, &qp);
        aoti_torch_get_data_ptr(out, &op);
        if (isa == ISA_AVX512_BF16) {
            widen512((const int8_t*) qp, (uint16_t*) op, N, K);
        } else {
            widen256((const int8_t*) qp, (uint16_t*) op, N, K);
        }
    }
    aoti_torch_delete_tensor_object(q);
    if (!ok) {
        const int64_t none[2] = {0, 0};
        aoti_torch_delete_tensor_object(out);
        out = empty(2, none, aoti_torch_dtype_bfloat16());
    }
    stack[0] = (StableIValue) (uintptr_t) out;   /* the caller's handle back, as the result */
}

/* ---- decode attention: one query per sequence against its paged bf16 K/V ---- */

/*
 * e^x for softmax's shifted scores (x <= 0), float32 within ~2 ulp: 2^n * p(r), n = round(x / ln 2), r = x - n ln 2
 * (ln 2 in two parts), p Cephes' expf polynomial. Plain C without calls, so that `omp simd` loops vectorize it:
 * libm's expf is a call per score, which was the most of a decode step's attention (16 sequences x 1,024 tokens
 * of context: 8 million per step of the 1B shape). x below -87 (e^x under 2^-126) gives 2^-126-ish, not 0: a
 * softmax weight of that size adds nothing a float32 sum keeps; e^-inf (the first chunk's rescale) is such a 0.
 */
static inline float exp_nonpositive(float x) {
    x = x < -87.0f ? -87.0f : x;
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round to nearest: 1.5 * 2^23 */
    const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const int32_t bits = ((int32_t) n + 127) << 23;                             /* 2^n, n in [-126, 0] */
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

#define ATT_CHUNK 128   /* positions whose scores are kept at once (online softmax across chunks) */
#define ATT_MAX_G 16    /* query heads per KV head */
#define ATT_MAX_D 256   /* head dim */

/*
 * Both decode attention bodies below share these (inlined into each, so compiled for its instruction set).
 * chunk_rows: where the keys and values at positions t0 .. t0+n-1 lie, (slot * KVH + h) * D, walking the page
 * table (no division per key).
 */
static inline __attribute__((always_inline)) void chunk_rows(int64_t* row, const int64_t* table, int64_t t0, int64_t n,
                                                            int64_t PS, int64_t KVH, int64_t h, int64_t D) {
    for (int64_t i = 0, page = t0 / PS, off = t0 % PS; i < n; i++) {
        row[i] = ((table[page] * PS + off) * KVH + h) * D;
        if (++off == PS) {
            off = 0;
            page++;
        }
    }
}

/*
 * The online softmax over one chunk of n scores per head: s[g][i] becomes e^(s - the new running max m[g]), l[g]
 * the running sum, and acc[g] (the weighted values so far) is rescaled to the new max.
 */
static inline __attribute__((always_inline)) void softmax_chunk(float s[][ATT_CHUNK], float acc[][ATT_MAX_D],
                                                               float* m, float* l, int64_t G, int64_t n, int64_t D) {
    for (int64_t g = 0; g < G; g++) {
        float mc = m[g];
#pragma omp simd reduction(max:mc)
        for (int64_t i = 0; i < n; i++) mc = s[g][i] > mc ? s[g][i] : mc;
        const float alpha = exp_nonpositive(m[g] - mc);
        float sum = 0.0f;
#pragma omp simd reduction(+:sum)
        for (int64_t i = 0; i < n; i++) {
            s[g][i] = exp_nonpositive(s[g][i] - mc);
            sum += s[g][i];
        }
        l[g] = l[g] * alpha + sum;
        m[g] = mc;
        for (int64_t d = 0; d < D; d++) acc[g][d] *= alpha;
    }
}

/* out[g] = acc[g] / l[g] in bf16, for the G heads of one KV head (out: the first of them) */
static inline __attribute__((always_inline)) void attention_out(uint16_t* out, float acc[][ATT_MAX_D], const float* l,
                                                               int64_t G, int64_t D) {
    for (int64_t g = 0; g < G; g++)
        for (int64_t d = 0; d < D; d++) out[g * D + d] = f32_to_bf16(acc[g][d] / l[g]);
}

/*
 * Work items of decode_attention512_tiled (below): a sequence and a group of its KV heads, walked chunk by chunk
 * of positions, each head of the group in turn, so that an item reads each position's keys and values of all its
 * heads together (1 KiB each at 8 KV heads x 64 dims: a page's keys are one sequential read), prefetched a chunk
 * ahead into L2, the first chunk into L1 as the item starts (prefetch_kv). A group is every head of a sequence,
 * unless the call has fewer sequences than threads: then a sequence's heads are split into groups (a divisor of
 * KVH) until every thread has an item; or unless the item's sums would not fit its ATT_ITEM_ACC floats (G x
 * ATT_MAX_D per head). Each head's arithmetic is the same, in the same order, whatever the grouping: a sequence's
 * outputs do not depend on how many sequences the call has. Items were one KV head each until this: each read 128
 * of every 1,024 bytes from memory, a head at a time. Harness, the 1B shape's 16 layers (8 KV heads x 64) between its
 * linears, AMD EPYC Zen 5, 2 cores, attention per step, three rounds each, alternated: 16 sequences x 256 positions
 * 9.2-10.9 -> 6.7-8.7 ms, x 1,024 39.6-42.1 -> 26.0-30.1 ms; one sequence x 200 the same (36-49 us a layer); the
 * same outputs, bit for bit. The generic bodies (next) and AVX2's tiled one keep items of one KV head: the generic
 * ones are bound by their arithmetic, and these items made the AVX2 one 10 % slower at one sequence x 1,024 (the
 * same at 16 x 256).
 */
#define ATT_ITEM_ACC 8192
#define ATT_TILE_ACC 32768   /* PREFILL_ATTENTION's sums of a tile's rows, a thread's: 32 rows of 4 heads */
#define ATT_PAD 16            /* floats between arrays that would otherwise lie a multiple of 4 KiB apart (AttendFrame) */
#define ATT_TILE_SUMS (2 * ATT_TILE_ACC + 2 * ATT_PAD)   /* and their queries in float32 (qf), ATT_PAD apart */
static int64_t attention_heads_per_item(int64_t B, int64_t KVH, int64_t G, int64_t threads) {
    int64_t groups = 1;
    while (groups < KVH && (B * groups < threads || KVH / groups * G * ATT_MAX_D > ATT_ITEM_ACC)) {
        groups++;
        while (KVH % groups) groups++;
    }
    return KVH / groups;
}

/* the lines of this item's heads at the n positions whose rows (of its first head) are row, K and V: into L1 where
   l1, else into L2 (prefetch_next) */
static inline __attribute__((always_inline)) void prefetch_kv(const uint16_t* kc, const uint16_t* vc,
                                                             const int64_t* row, int64_t n, int64_t bytes, int l1) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < bytes; c += 64) {
            prefetch_next((const char*) (kc + row[i]) + c, l1);
            prefetch_next((const char*) (vc + row[i]) + c, l1);
        }
}

/*
 * A walk over the len positions of a table, a chunk at a time, two chunks' rows in rows [2][ATT_CHUNK]: while row
 * (the chunk at t0) is attended, the next chunk's rows go into the other half, its keys and values (bytes of each
 * row) prefetched into L2 where prefetch. Returns the next chunk's rows (unwritten after the last chunk).
 */
static inline __attribute__((always_inline)) int64_t* chunk_ahead(int64_t rows[2][ATT_CHUNK], const int64_t* row,
        const int64_t* table, int64_t t0, int64_t len, int64_t PS, int64_t KVH, int64_t h, int64_t D,
        const uint16_t* kc, const uint16_t* vc, int64_t bytes, int prefetch) {
    int64_t* next = row == rows[0] ? rows[1] : rows[0];
    if (t0 + ATT_CHUNK < len) {
        const int64_t n1 = len - t0 - ATT_CHUNK < ATT_CHUNK ? len - t0 - ATT_CHUNK : ATT_CHUNK;
        chunk_rows(next, table, t0 + ATT_CHUNK, n1, PS, KVH, h, D);
        if (prefetch) prefetch_kv(kc, vc, next, n1, bytes, 0);
    }
    return next;
}

/*
 * The chunk functions: one chunk of n keys and values (row: where they lie, kc and vc at the KV head's first dim) for
 * the G query heads of one query (qb [G, D] bf16; qf the same in float32 times scale, where the body takes that),
 * with its running sums acc [G][ATT_MAX_D], m and l [G] and the chunk's scores s [G][ATT_CHUNK]: the scores, the
 * online softmax (softmax_chunk), then acc += s v. Each decode body and each prefill body (PREFILL_ATTENTION, below)
 * runs a query's chunks through its instruction set's function, in the same order, so a query's outputs are the same
 * bits whichever body and whichever call it falls in. This one is the generic body's, each score reduced on its own.
 */
static inline __attribute__((always_inline)) void attend_chunk(const uint16_t* qb, float qf[][ATT_MAX_D],
        const uint16_t* kc, const uint16_t* vc, const int64_t* row, int64_t n, float s[][ATT_CHUNK],
        float acc[][ATT_MAX_D], float* m, float* l, int64_t G, int64_t D, float scale) {
    (void) qb;
    (void) scale;
    float kf[ATT_MAX_D];
    for (int64_t i = 0; i < n; i++) {
        const uint16_t* kr = kc + row[i];
        for (int64_t d = 0; d < D; d++) kf[d] = bf16_to_f32(kr[d]);
        for (int64_t g = 0; g < G; g++) {
            float dot = 0.0f;
#pragma omp simd reduction(+:dot)
            for (int64_t d = 0; d < D; d++) dot += qf[g][d] * kf[d];
            s[g][i] = dot;
        }
    }
    softmax_chunk(s, acc, m, l, G, n, D);
    for (int64_t i = 0; i < n; i++) {
        const uint16_t* vr = vc + row[i];
        for (int64_t d = 0; d < D; d++) kf[d] = bf16_to_f32(vr[d]);
        for (int64_t g = 0; g < G; g++) {
            const float p = s[g][i];
#pragma omp simd
            for (int64_t d = 0; d < D; d++) acc[g][d] += p * kf[d];
        }
    }
}

/* qf [G][ATT_MAX_D] = qb [G, D] (bf16) in float32 times scale, acc [G][ATT_MAX_D] = 0, m = -inf, l = 0 */
static inline __attribute__((always_inline)) void attend_start(const uint16_t* qb, float qf[][ATT_MAX_D],
        float acc[][ATT_MAX_D], float* m, float* l, int64_t G, int64_t D, float scale) {
    for (int64_t g = 0; g < G; g++) {
        for (int64_t d = 0; d < D; d++) {
            qf[g][d] = bf16_to_f32(qb[g * D + d]) * scale;
            acc[g][d] = 0.0f;
        }
        m[g] = -INFINITY;
        l[g] = 0.0f;
    }
}

/*
 * A decode body's arrays, in this order, none a multiple of 4 KiB from another (ATT_PAD floats between them): as
 * separate locals the compiler laid them out so that AVX2's tiled body ran 16 sequences x 256 positions 30 % slower
 * (7.2 against 5.5 ms for 16 layers, harness, Zen 5; a load of one array and a store to another 4 KiB apart wait
 * for each other). 32-byte aligned, as AVX2's body loads qf and acc.
 */
typedef struct {
    float qf[ATT_MAX_G][ATT_MAX_D];
    float pad0[ATT_PAD];
    float acc[ATT_MAX_G][ATT_MAX_D];
    float pad1[2 * ATT_PAD];
    float s[ATT_MAX_G][ATT_CHUNK];
} __attribute__((aligned(64))) AttendFrame;

/*
 * q [B, NH, D] bf16; k, v [S, KVH, D] bf16 caches; tables [B, P] int64 page tables; pos [B] int64, each query's
 * position (it sees the keys at positions 0..pos) -> out [B, NH, D] bf16: softmax(q k^T / sqrt(D)) v in float32,
 * as llama_step.py's attend computes it (head h reads KV head h / (NH / KVH)), one pass over the context. AHEAD: the
 * next chunk's keys and values prefetched into L2 meanwhile, as PREFILL_ATTENTION does: AVX2's tiled body had waited
 * on its keys' loads (perf's samples) and its attention took 23-32 % less with it at 1,024-8,192 positions, 5-9 % at
 * 256 (Zen 4, in the step); AVX2's generic body took 2-10 % more with it, and the generic bodies go without.
 */
#define DECODE_ATTENTION(NAME, TARGET, ATTEND, AHEAD)                                                          \
    TARGET static void NAME(const uint16_t* q, const uint16_t* kc, const uint16_t* vc, const int64_t* tables,  \
                            const int64_t* pos, uint16_t* out, int64_t B, int64_t NH, int64_t KVH, int64_t D,   \
                            int64_t P, int64_t PS) {                                                           \
        const int64_t G = NH / KVH;                                                                            \
        const float scale = 1.0f / sqrtf((float) D);                                                           \
        _Pragma("omp parallel for schedule(dynamic, 1)")                                                       \
        for (int64_t bh = 0; bh < B * KVH; bh++) {                                                             \
            const int64_t b = bh / KVH, h = bh % KVH;                                                          \
            const uint16_t* qb = q + (b * NH + h * G) * D;                                                     \
            AttendFrame f;                                                                                     \
            float m[ATT_MAX_G], l[ATT_MAX_G];                                                                  \
            attend_start(qb, f.qf, f.acc, m, l, G, D, scale);                                                  \
            const int64_t len = pos[b] + 1;                                                                    \
            int64_t rows[2][ATT_CHUNK]; /* this chunk's rows and the next's */                                 \
            int64_t* row = rows[0];                                                                            \
            chunk_rows(row, tables + b * P, 0, len < ATT_CHUNK ? len : ATT_CHUNK, PS, KVH, h, D);              \
            for (int64_t t0 = 0; t0 < len; t0 += ATT_CHUNK) {                                                  \
                const int64_t n = len - t0 < ATT_CHUNK ? len - t0 : ATT_CHUNK;                                 \
                int64_t* next = chunk_ahead(rows, row, tables + b * P, t0, len, PS, KVH, h, D, kc, vc,         \
                                            D * 2, AHEAD);                                                     \
                ATTEND(qb, f.qf, kc, vc, row, n, f.s, f.acc, m, l, G, D, scale);                               \
                row = next;                                                                                    \
            }                                                                                                  \
            attention_out(out + (b * NH + h * G) * D, f.acc, l, G, D);                                         \
        }                                                                                                      \
    }

DECODE_ATTENTION(decode_attention512, T512, attend_chunk, 0)
DECODE_ATTENTION(decode_attention256, T256, attend_chunk, 0)

/*
 * The same on AVX2 where G % 4 == 0, D % 16 == 0 and D <= 64 (Llama 3's 4 query heads per KV head; head dim 64, as
 * the 1B and the bench's shape), with the arithmetic in registers: two keys' scores for 4 heads as 8 accumulators
 * over their D inputs, each key's 4 added up across lanes together (three horizontal adds), the same keys' values
 * prefetched into L2 meanwhile, and the weighted sum of the values in tiles of 4 heads x 16 dims (8 registers) over
 * a chunk of keys, where the generic body reduced each score on its own and kept acc in memory. Items of one KV
 * head, as the generic body. Harness, 16 calls (a layer each) of the 1B shape's attention (32 heads over 8, D 64),
 * AMD EPYC Zen 5 with the AVX2 bodies forced, best of 3-5: 16 sequences x 256 positions 13.6-14.4 -> 5.8-6.0 ms,
 * x 1,024 85.5-88.2 -> 60.2-63.1, one sequence x 2,000 6.8-7.0 -> 2.6-2.8. At D 128 (the 8B) it was slower than the
 * generic body (16 x 512: 41-47 against 38-40 ms), hence D <= 64. qf and acc: 32-byte aligned.
 * Those harnesses were built with -march=native, under which gcc lets these target("avx2,fma") functions use
 * AVX-512: not the code a CPU without AVX-512 runs. Timed in the model instead (a later stop;
 * docs/native-cpu-kernels.md, "Those harness figures are not AVX2's"), this body decodes as fast as the generic one
 * or slower (its attention took up to 31 % longer at the 1B's D 64, 39 % at the 8B's D 128; on a Zen 4, whose L1 is
 * a Zen 3's 32 KiB, 50-60 % longer at D 64, 10-25 % since DECODE_ATTENTION's AHEAD), while as PREFILL_ATTENTION's
 * chunk function it halves a prefill's attention. Decode keeps it where D <= 64, so that a prefill row attends as the
 * decode row it would have been (what n choices and cache hits give the same bits by, on AVX2 too: "Timed on a Zen
 * 4" there); D 128 keeps the generic body and `attend`.
 */
T256 static inline __attribute__((always_inline)) void attend_chunk256(const uint16_t* qb, float qf[][ATT_MAX_D],
        const uint16_t* kc, const uint16_t* vc, const int64_t* row, int64_t n, float s[][ATT_CHUNK],
        float acc[][ATT_MAX_D], float* m, float* l, int64_t G, int64_t D, float scale) {
    (void) qb;
    (void) scale;
    for (int64_t i = 0; i < n; i += 2) {   /* scores: s[g][i] = q[g] . k[i], 4 heads x 2 keys at a time */
        const int64_t r0 = row[i], r1 = row[i + 1 < n ? i + 1 : i];   /* the last key twice where n is odd */
        const uint16_t* kr0 = kc + r0;
        const uint16_t* kr1 = kc + r1;
        for (int64_t c = 0; c < D * 2; c += 64) {   /* the same keys' values, for the weighted sum below */
            _mm_prefetch((const char*) (vc + r0) + c, _MM_HINT_T1);
            _mm_prefetch((const char*) (vc + r1) + c, _MM_HINT_T1);
        }
        for (int64_t g0 = 0; g0 < G; g0 += 4) {
            __m256 a[2][4];
            for (int k = 0; k < 2; k++)
                for (int j = 0; j < 4; j++) a[k][j] = _mm256_setzero_ps();
            for (int64_t d = 0; d < D; d += 8) {
                const __m256 k0 = bf16x8_f32(kr0 + d), k1 = bf16x8_f32(kr1 + d);   /* [8] each */
                for (int j = 0; j < 4; j++) {
                    const __m256 qv = _mm256_load_ps(&qf[g0 + j][d]);
                    a[0][j] = _mm256_fmadd_ps(qv, k0, a[0][j]);
                    a[1][j] = _mm256_fmadd_ps(qv, k1, a[1][j]);
                }
            }
            for (int k = 0; k < 2 && i + k < n; k++) {
                /* lane j of each half: head j's pairs summed, then the two halves: [4] */
                const __m256 hs = _mm256_hadd_ps(_mm256_hadd_ps(a[k][0], a[k][1]),
                                                 _mm256_hadd_ps(a[k][2], a[k][3]));
                float four[4];
                _mm_storeu_ps(four, _mm_add_ps(_mm256_castps256_ps128(hs), _mm256_extractf128_ps(hs, 1)));
                for (int j = 0; j < 4; j++) s[g0 + j][i + k] = four[j];
            }
        }
    }
    softmax_chunk(s, acc, m, l, G, n, D);
    for (int64_t g0 = 0; g0 < G; g0 += 4) {   /* acc[g0..g0+3][d0..d0+15] += sum_i s[g][i] v[i][d] */
        for (int64_t d0 = 0; d0 < D; d0 += 16) {
            __m256 c[4][2];
            for (int j = 0; j < 4; j++) {
                c[j][0] = _mm256_load_ps(&acc[g0 + j][d0]);
                c[j][1] = _mm256_load_ps(&acc[g0 + j][d0 + 8]);
            }
            for (int64_t i = 0; i < n; i++) {
                const uint16_t* vr = vc + row[i] + d0;
                const __m256 v0 = bf16x8_f32(vr), v1 = bf16x8_f32(vr + 8);   /* [16] */
                for (int j = 0; j < 4; j++) {
                    const __m256 p = _mm256_broadcast_ss(&s[g0 + j][i]);
                    c[j][0] = _mm256_fmadd_ps(p, v0, c[j][0]);
                    c[j][1] = _mm256_fmadd_ps(p, v1, c[j][1]);
                }
            }
            for (int j = 0; j < 4; j++) {
                _mm256_store_ps(&acc[g0 + j][d0], c[j][0]);
                _mm256_store_ps(&acc[g0 + j][d0 + 8], c[j][1]);
            }
        }
    }
}

DECODE_ATTENTION(decode_attention256_tiled, T256, attend_chunk256, 1)

/*
 * The same on AVX-512 BF16 where G % 4 == 0 and D % 64 == 0 (Llama 3's 4 query heads per KV head, head dim 64 or
 * 128), with the arithmetic in registers: a query head's scores for 16 keys at a time as bf16 dot products
 * (q and k are bf16: exact products, float32 sums) summed across lanes together (sum16), and the weighted sum of
 * the values in tiles of 4 heads x 64 dims held in 16 registers over a chunk of keys. The generic body above keeps
 * acc in memory and reduces every dot product on its own: 4-5x slower at 16 sequences x 1,024 tokens.
 */
T512 static inline __m512 sum16(__m512 a[16]) {   /* lane i = the sum of a[i]'s lanes */
    __m512 b[8], c[4];
    for (int k = 0; k < 8; k++)
        b[k] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * k], a[2 * k + 1]), _mm512_unpackhi_ps(a[2 * k], a[2 * k + 1]));
    for (int k = 0; k < 4; k++) {
        const __m512d x = _mm512_castps_pd(b[2 * k]), y = _mm512_castps_pd(b[2 * k + 1]);
        c[k] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
    }
    const __m512 e0 = _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], 0x88), _mm512_shuffle_f32x4(c[0], c[1], 0xdd));
    const __m512 e1 = _mm512_add_ps(_mm512_shuffle_f32x4(c[2], c[3], 0x88), _mm512_shuffle_f32x4(c[2], c[3], 0xdd));
    return _mm512_add_ps(_mm512_shuffle_f32x4(e0, e1, 0x88), _mm512_shuffle_f32x4(e0, e1, 0xdd));
}

/* AVX-512 BF16's chunk function (qf unused: the scores are bf16 dot products of qb and the keys) */
T512 static inline __attribute__((always_inline)) void attend_chunk512(const uint16_t* qb, float qf[][ATT_MAX_D],
        const uint16_t* kc, const uint16_t* vc, const int64_t* row, int64_t n, float s[][ATT_CHUNK],
        float acc[][ATT_MAX_D], float* m, float* l, int64_t G, int64_t D, float scale) {
    (void) qf;
    static const uint16_t zeros[ATT_MAX_D] = {0};   /* the keys past a chunk's end in its last group of 16 */
    for (int64_t i0 = 0; i0 < n; i0 += 16) {                                  /* scores s[g][i0 .. i0+15] */
        const uint16_t* kr[16];
        for (int i = 0; i < 16; i++) kr[i] = i0 + i < n ? kc + row[i0 + i] : zeros;
        for (int64_t g = 0; g < G; g++) {
            __m512 a[16];
            for (int i = 0; i < 16; i++) a[i] = _mm512_setzero_ps();
            for (int64_t c = 0; c < D; c += 32) {
                const __m512bh qv = (__m512bh) _mm512_loadu_si512(qb + g * D + c);
                for (int i = 0; i < 16; i++)
                    a[i] = _mm512_dpbf16_ps(a[i], (__m512bh) _mm512_loadu_si512(kr[i] + c), qv);
            }
            _mm512_storeu_ps(&s[g][i0], _mm512_mul_ps(sum16(a), _mm512_set1_ps(scale)));
        }
    }
    softmax_chunk(s, acc, m, l, G, n, D);
    for (int64_t g0 = 0; g0 < G; g0 += 4) {                                   /* acc += s v, 4 heads x 64 dims */
        for (int64_t d0 = 0; d0 < D; d0 += 64) {
            __m512 r[4][4];
            for (int g = 0; g < 4; g++)
                for (int k = 0; k < 4; k++) r[g][k] = _mm512_loadu_ps(&acc[g0 + g][d0 + 16 * k]);
            for (int64_t i = 0; i < n; i++) {
                const uint16_t* vr = vc + row[i] + d0;
                __m512 vf[4];
                for (int k = 0; k < 4; k++) vf[k] = bf16x16_f32(vr + 16 * k);
                for (int g = 0; g < 4; g++) {
                    const __m512 p = _mm512_set1_ps(s[g0 + g][i]);
                    for (int k = 0; k < 4; k++) r[g][k] = _mm512_fmadd_ps(p, vf[k], r[g][k]);
                }
            }
            for (int g = 0; g < 4; g++)
                for (int k = 0; k < 4; k++) _mm512_storeu_ps(&acc[g0 + g][d0 + 16 * k], r[g][k]);
        }
    }
}

T512 static void decode_attention512_tiled(const uint16_t* q, const uint16_t* kc, const uint16_t* vc,
                                           const int64_t* tables, const int64_t* pos, uint16_t* out, int64_t B,
                                           int64_t NH, int64_t KVH, int64_t D, int64_t P, int64_t PS) {
    const int64_t G = NH / KVH;
    const float scale = 1.0f / sqrtf((float) D);
    const int64_t HPI = attention_heads_per_item(B, KVH, G, omp_get_max_threads());
    const int64_t groups = KVH / HPI;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t bg = 0; bg < B * groups; bg++) {
        const int64_t b = bg / groups, h0 = bg % groups * HPI;
        /* head h0 + j's sums: acc [G][ATT_MAX_D] at accs + j G, m and l [G] at ms, ls + j G */
        float accs[ATT_ITEM_ACC / ATT_MAX_D][ATT_MAX_D], s[ATT_MAX_G][ATT_CHUNK];
        float ms[ATT_ITEM_ACC / ATT_MAX_D], ls[ATT_ITEM_ACC / ATT_MAX_D];
        for (int64_t i = 0; i < HPI * G; i++) {
            for (int64_t d = 0; d < D; d++) accs[i][d] = 0.0f;
            ms[i] = -INFINITY;
            ls[i] = 0.0f;
        }
        const int64_t len = pos[b] + 1;
        int64_t rows[2][ATT_CHUNK];   /* this chunk's rows and the next's, located once (the next ones prefetched) */
        int64_t* row = rows[0];
        const int64_t n0 = len < ATT_CHUNK ? len : ATT_CHUNK;
        chunk_rows(row, tables + b * P, 0, n0, PS, KVH, h0, D);
        prefetch_kv(kc, vc, row, n0, HPI * D * 2, 1);
        for (int64_t t0 = 0; t0 < len; t0 += ATT_CHUNK) {
            const int64_t n = len - t0 < ATT_CHUNK ? len - t0 : ATT_CHUNK;
            int64_t* next = chunk_ahead(rows, row, tables + b * P, t0, len, PS, KVH, h0, D, kc, vc, HPI * D * 2, 1);
            for (int64_t j = 0; j < HPI; j++)
                attend_chunk512(q + (b * NH + (h0 + j) * G) * D, NULL, kc + j * D, vc + j * D, row, n, s, accs + j * G,
                                ms + j * G, ls + j * G, G, D, scale);
            row = next;
        }
        for (int64_t j = 0; j < HPI; j++)
            attention_out(out + (b * NH + (h0 + j) * G) * D, accs + j * G, ls + j * G, G, D);
    }
}

/*
 * A prefill's rows: consecutive rows of one sequence (rows whose tables agree on every page a row reads), each a
 * query at its own position. The decode bodies take each row as its own item, which reads all of the sequence's
 * keys and values up to its position again: AVX-512's, 256 rows after 30,720 positions (the 8B's heads, 128 dims),
 * ran at 6.6 ns a query-key-head pair from memory, against 2.6 for 2,048 rows from position 0. Here an item is a
 * tile of up to ATT_TILE_ACC / (G x ATT_MAX_D) such rows (32 at 4 query heads per KV head) and one KV head: each
 * chunk of keys and values is read once for the tile (the next one prefetched into L2 meanwhile), and each of its
 * rows runs it through the chunk function ATTEND as the decode body does, with its own n (the causal mask: a row
 * reads up to its position): every output is the same bits as the decode body's, whatever tile its row falls in.
 * The tiles of the longest rows go first, since later rows have more keys. sums: ATT_TILE_SUMS floats a thread,
 * 64-byte aligned (decode_attention_run's SCRATCH_ATTENTION): the tile's rows' acc, then their qf.
 */
#define PREFILL_ATTENTION(NAME, TARGET, ATTEND)                                                                \
    TARGET static void NAME(const uint16_t* q, const uint16_t* kc, const uint16_t* vc, const int64_t* tables,  \
                            const int64_t* pos, uint16_t* out, const int64_t* first, int64_t tiles, float* sums, \
                            int64_t NH, int64_t KVH, int64_t D, int64_t P, int64_t PS) {                       \
        const int64_t G = NH / KVH;                                                                            \
        const float scale = 1.0f / sqrtf((float) D);                                                           \
        _Pragma("omp parallel for schedule(dynamic, 1)")                                                       \
        for (int64_t it = 0; it < tiles * KVH; it++) {                                                         \
            const int64_t t = tiles - 1 - it / KVH, h = it % KVH, b0 = first[t], nq = first[t + 1] - b0;       \
            /* row b0 + j: acc [G][ATT_MAX_D] at accs + j G, qf at qfs + j G, m and l at ms, ls + j G */         \
            float* mine = sums + (int64_t) omp_get_thread_num() * ATT_TILE_SUMS;                               \
            float (*accs)[ATT_MAX_D] = (float (*)[ATT_MAX_D]) mine;                                            \
            float (*qfs)[ATT_MAX_D] = (float (*)[ATT_MAX_D]) (mine + ATT_TILE_ACC + ATT_PAD); /* AttendFrame */ \
            float s[ATT_MAX_G][ATT_CHUNK], ms[ATT_TILE_ACC / ATT_MAX_D], ls[ATT_TILE_ACC / ATT_MAX_D];         \
            int64_t len = 0; /* the tile's longest row */                                                      \
            for (int64_t j = 0; j < nq; j++) {                                                                 \
                attend_start(q + ((b0 + j) * NH + h * G) * D, qfs + j * G, accs + j * G, ms + j * G, ls + j * G, \
                             G, D, scale);                                                                     \
                len = pos[b0 + j] + 1 > len ? pos[b0 + j] + 1 : len;                                           \
            }                                                                                                  \
            int64_t rows[2][ATT_CHUNK]; /* this chunk's rows and the next's */                                 \
            int64_t* row = rows[0];                                                                            \
            chunk_rows(row, tables + b0 * P, 0, len < ATT_CHUNK ? len : ATT_CHUNK, PS, KVH, h, D);             \
            for (int64_t t0 = 0; t0 < len; t0 += ATT_CHUNK) {                                                  \
                int64_t* next = chunk_ahead(rows, row, tables + b0 * P, t0, len, PS, KVH, h, D, kc, vc,        \
                                            D * 2, 1);                                                         \
                for (int64_t j = 0; j < nq; j++) {                                                             \
                    const int64_t lj = pos[b0 + j] + 1;                                                        \
                    if (lj <= t0) continue;                                                                    \
                    ATTEND(q + ((b0 + j) * NH + h * G) * D, qfs + j * G, kc, vc, row,                          \
                           lj - t0 < ATT_CHUNK ? lj - t0 : ATT_CHUNK, s, accs + j * G, ms + j * G, ls + j * G, G, D, \
                           scale);                                                                             \
                }                                                                                              \
                row = next;                                                                                    \
            }                                                                                                  \
            for (int64_t j = 0; j < nq; j++)                                                                   \
                attention_out(out + ((b0 + j) * NH + h * G) * D, accs + j * G, ls + j * G, G, D);               \
        }                                                                                                      \
    }

PREFILL_ATTENTION(prefill_attention512_tiled, T512, attend_chunk512)
PREFILL_ATTENTION(prefill_attention512, T512, attend_chunk)
PREFILL_ATTENTION(prefill_attention256_tiled, T256, attend_chunk256)
PREFILL_ATTENTION(prefill_attention256, T256, attend_chunk)

/*
 * The B rows as tiles of at most rows_max consecutive rows that read the same pages (first [tiles + 1]: each tile's
 * first row, then B): row b joins the tile of row b0 where their tables agree on the pages b reads (0 .. pos[b] /
 * PS). Returns the number of tiles.
 */
static int64_t query_tiles(const int64_t* tables, const int64_t* pos, int64_t B, int64_t P, int64_t PS,
                           int64_t rows_max, int64_t* first) {
    int64_t tiles = 0;
    for (int64_t b = 0; b < B; b++) {
        const int64_t b0 = tiles > 0 ? first[tiles - 1] : 0;
        if (tiles == 0 || b - b0 >= rows_max
            || memcmp(tables + b0 * P, tables + b * P, (size_t) (pos[b] / PS + 1) * sizeof(int64_t)) != 0)
            first[tiles++] = b;
    }
    first[tiles] = B;
    return tiles;
}

/* whether every position of the B rows' (pos [B]) pages lies in its table (tables [B, P]) and in a cache of S slots */
static int pages_ok(const int64_t* tables, const int64_t* pos, int64_t B, int64_t P, int64_t PS, int64_t S) {
    for (int64_t b = 0; b < B; b++) {
        const int64_t last = pos[b] / PS;
        if (pos[b] < 0 || last >= P) return 0;
        for (int64_t i = 0; i <= last; i++) {
            if (tables[b * P + i] < 0 || (tables[b * P + i] + 1) * PS > S) return 0;
        }
    }
    return 1;
}

/*
 * The decode-attention body for G query heads per KV head of head dim D on the ISA in use: 2 the register-tiled one
 * (AVX-512 BF16: G % 4 == 0 and D % 64 == 0; AVX2: G % 4 == 0, D % 16 == 0 and D <= 64), 1 the generic one, 0 none
 * (no ISA, or past ATT_MAX_G / ATT_MAX_D). decode_attention_run picks by it, and the loads ask it (attention_body)
 * whether the kernel attends and up to which context prefill chunks do: the rule lives here alone.
 */
static int attention_body(int64_t G, int64_t D) {
    if (isa == ISA_NONE || G < 1 || G > ATT_MAX_G || D < 1 || D > ATT_MAX_D) return 0;
    const int tiled = isa == ISA_AVX512_BF16 ? G % 4 == 0 && D % 64 == 0 : G % 4 == 0 && D % 16 == 0 && D <= 64;
    return tiled ? 2 : 1;
}

/* q [B, NH, D] against the caches through tables [B, P] up to pos [B] -> out [B, NH, D], on the ISA's kernel */
static void decode_attention_run(const uint16_t* q, const uint16_t* kc, const uint16_t* vc, const int64_t* tables,
                                 const int64_t* pos, uint16_t* out, int64_t B, int64_t NH, int64_t KVH, int64_t D,
                                 int64_t P, int64_t PS) {
    const int64_t G = NH / KVH;
    const int tiled = attention_body(G, D) == 2;
    if (B > 1) {   /* a prefill's rows, in tiles where rows read the same pages (else each row an item of its own) */
        int64_t* first = malloc((size_t) (B + 1) * sizeof(int64_t));
        const int64_t rows_max = ATT_TILE_ACC / (G * ATT_MAX_D);
        const int64_t tiles = first != NULL ? query_tiles(tables, pos, B, P, PS, rows_max, first) : B;
        /* every thread's sums, kept by the calling thread from call to call: fresh, they were mapped and faulted in
           page by page in every layer (256 KiB a thread) */
        const int64_t sums_bytes = (int64_t) omp_get_max_threads() * ATT_TILE_SUMS * (int64_t) sizeof(float);
        int8_t* kept = tiles < B ? thread_scratch(SCRATCH_ATTENTION, sums_bytes + 64) : NULL;
        float* sums = kept == NULL ? NULL : (float*) (((uintptr_t) kept + 63) & ~(uintptr_t) 63);
        if (sums != NULL)
            (isa == ISA_AVX512_BF16 ? (tiled ? prefill_attention512_tiled : prefill_attention512)
                                    : (tiled ? prefill_attention256_tiled : prefill_attention256))(
                    q, kc, vc, tables, pos, out, first, tiles, sums, NH, KVH, D, P, PS);
        free(first);
        if (sums != NULL) return;
    }
    (isa == ISA_AVX512_BF16 ? (tiled ? decode_attention512_tiled : decode_attention512)
                            : (tiled ? decode_attention256_tiled : decode_attention256))(
            q, kc, vc, tables, pos, out, B, NH, KVH, D, P, PS);
}

/* stack: q, k_cache, v_cache, tables, pos, page_size -> out ([0, 0, 0] where the kernel cannot take the call) */
static void decode_attention_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    AtenTensorHandle h[5];
    for (int i = 0; i < 5; i++) h[i] = (AtenTensorHandle) (uintptr_t) stack[i];
    const int64_t PS = (int64_t) stack[5];
    int64_t qd = 0, kd = 0, vd = 0, td = 0, pd = 0, *qs = 0, *ks = 0, *vs = 0, *ts = 0, *ps = 0;
    aoti_torch_get_dim(h[0], &qd);
    aoti_torch_get_dim(h[1], &kd);
    aoti_torch_get_dim(h[2], &vd);
    aoti_torch_get_dim(h[3], &td);
    aoti_torch_get_dim(h[4], &pd);
    int ok = isa != ISA_NONE && qd == 3 && kd == 3 && vd == 3 && td == 2 && pd == 1 && PS > 0;
    if (ok) {
        aoti_torch_get_sizes(h[0], &qs);
        aoti_torch_get_sizes(h[1], &ks);
        aoti_torch_get_sizes(h[2], &vs);
        aoti_torch_get_sizes(h[3], &ts);
        aoti_torch_get_sizes(h[4], &ps);
        ok = dtype(h[0]) == aoti_torch_dtype_bfloat16() && dtype(h[1]) == aoti_torch_dtype_bfloat16()
             && dtype(h[2]) == aoti_torch_dtype_bfloat16() && dtype(h[3]) == aoti_torch_dtype_int64()
             && dtype(h[4]) == aoti_torch_dtype_int64() && ks[0] == vs[0] && ks[1] == vs[1] && ks[2] == vs[2]
             && ks[2] == qs[2] && ks[1] > 0 && qs[1] % ks[1] == 0 && attention_body(qs[1] / ks[1], qs[2]) > 0
             && ts[0] == qs[0] && ps[0] == qs[0] && contiguous(h[0]) && contiguous(h[1]) && contiguous(h[2])
             && contiguous(h[3]) && contiguous(h[4]);
    }
    void* p[6] = {0};
    for (int i = 0; ok && i < 5; i++) aoti_torch_get_data_ptr(h[i], &p[i]);
    ok = ok && pages_ok((const int64_t*) p[3], (const int64_t*) p[4], qs[0], ts[1], PS, ks[0]);
    const int64_t sizes[3] = {ok ? qs[0] : 0, ok ? qs[1] : 0, ok ? qs[2] : 0};
    AtenTensorHandle out = empty(3, sizes, aoti_torch_dtype_bfloat16());
    if (ok && qs[0] > 0) {
        aoti_torch_get_data_ptr(out, &p[5]);
        decode_attention_run((const uint16_t*) p[0], (const uint16_t*) p[1], (const uint16_t*) p[2],
                             (const int64_t*) p[3], (const int64_t*) p[4], (uint16_t*) p[5], qs[0], qs[1], ks[1],
                             qs[2], ts[1], PS);
    }
    for (int i = 0; i < 5; i++) aoti_torch_delete_tensor_object(h[i]);
    stack[0] = (StableIValue) (uintptr_t) out;
}

/*
 * bf16 [N, K] -> blocked int8 [N, K] and bf16 scales [N], exactly as llama_step.py's to_int8 then block_int8:
 * scale = max(absmax(row), 1e-30) / 127 in float32, q = clamp(round-half-even(w / scale), -127, 127), the scale
 * stored rounded to bf16. One pass per row, no float32 copy of the weight (to_int8's temporaries made the int8 load
 * of the 1B shape take 40 s, mostly page faults).
 */
static void quantize_rows(const uint16_t* w, int8_t* qb, uint16_t* scale_out, int64_t N, int64_t K) {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const uint16_t* r = w + n * K;
        float amax = 0.0f;
        for (int64_t k = 0; k < K; k++) {
            const float a = fabsf(bf16_to_f32(r[k]));
            amax = a > amax ? a : amax;
        }
        const float scale = (amax > 1e-30f ? amax : 1e-30f) / 127.0f;
        scale_out[n] = f32_to_bf16(scale);
        for (int64_t k = 0; k < K; k++) {
            float v = nearbyintf(bf16_to_f32(r[k]) / scale);
            v = v < -127.0f ? -127.0f : v > 127.0f ? 127.0f : v;
            qb[blocked(n, k, K)] = (int8_t) v;
        }
    }
}

/* stack: raw [N, 2K] uint8 (bf16 bits) -> (blocked q [N, K] int8, scale [N] bf16); ([0, 0], [0]) if it cannot */
static void quantize_int8_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    AtenTensorHandle raw = (AtenTensorHandle) (uintptr_t) stack[0];
    int64_t N = 0, K2 = 0;
    int ok = matrix(raw, &N, &K2) && dtype(raw) == aoti_torch_dtype_uint8() && K2 % 64 == 0 && N % 4 == 0;
    const int64_t K = ok ? K2 / 2 : 0;
    const int64_t qsizes[2] = {ok ? N : 0, K}, ssizes[1] = {ok ? N : 0};
    AtenTensorHandle q = empty(2, qsizes, aoti_torch_dtype_int8());
    AtenTensorHandle scale = empty(1, ssizes, aoti_torch_dtype_bfloat16());
    if (ok && N > 0 && K > 0) {
        void *rp = 0, *qp = 0, *sp = 0;
        aoti_torch_get_data_ptr(raw, &rp);
        aoti_torch_get_data_ptr(q, &qp);
        aoti_torch_get_data_ptr(scale, &sp);
        quantize_rows((const uint16_t*) rp, (int8_t*) qp, (uint16_t*) sp, N, K);
    }
    aoti_torch_delete_tensor_object(raw);
    stack[0] = (StableIValue) (uintptr_t) q;
    stack[1] = (StableIValue) (uintptr_t) scale;
}

/*
 * x [T, H] bf16, w [H] bf16 -> w * bf16(x * rsqrt(mean(x^2) + eps)), as llama_step.py's rms_norm (Hugging Face's
 * LlamaRMSNorm: statistics in float32, the normalised row rounded to bf16 before the weight multiplies it), one pass
 * per row instead of seven tensor ops. With a residual r [T, H] (add_rms_norm): the row normalised is s = x + r,
 * each element rounded to bf16 as torch's bf16 add rounds it, and s is written to sum: the step's residual add and
 * the norm after it in one pass. rms_norm_row is any CPU's; rms_norm_row512 the same arithmetic 16 lanes at a time
 * (H % 16 == 0), its sum of squares in 16 partial sums (fused multiply-adds) added up by _mm512_reduce_add_ps: another
 * order than rms_norm_row's, the same for every row whatever the rows beside it.
 */
static void rms_norm_row(const uint16_t* x, const uint16_t* r, const uint16_t* w, uint16_t* sum, uint16_t* out,
                         int64_t H, float eps) {
    if (r != NULL) {
        for (int64_t i = 0; i < H; i++) sum[i] = f32_to_bf16(bf16_to_f32(x[i]) + bf16_to_f32(r[i]));
        x = sum;
    }
    float sq = 0.0f;
#pragma omp simd reduction(+:sq)
    for (int64_t i = 0; i < H; i++) {
        const float v = bf16_to_f32(x[i]);
        sq += v * v;
    }
    const float inv = 1.0f / sqrtf(sq / (float) H + eps);
    for (int64_t i = 0; i < H; i++) {
        const float n = bf16_to_f32(f32_to_bf16(bf16_to_f32(x[i]) * inv));
        out[i] = f32_to_bf16(bf16_to_f32(w[i]) * n);
    }
}

T512 static void rms_norm_row512(const uint16_t* x, const uint16_t* r, const uint16_t* w, uint16_t* sum,
                                 uint16_t* out, int64_t H, float eps) {
    __m512 sq = _mm512_setzero_ps();
    for (int64_t i = 0; i < H; i += 16) {
        __m512 v = bf16x16_f32(x + i);
        if (r != NULL) {   /* s = bf16(x + r), kept as the step's new residual stream */
            const __m512i s = round_bf16x16(_mm512_add_ps(v, bf16x16_f32(r + i)));
            _mm256_storeu_si256((__m256i*) (sum + i), bf16x16_pack(s));
            v = _mm512_castsi512_ps(s);
        }
        sq = _mm512_fmadd_ps(v, v, sq);
    }
    const float inv = 1.0f / sqrtf(_mm512_reduce_add_ps(sq) / (float) H + eps);
    const uint16_t* s = r != NULL ? sum : x;
    for (int64_t i = 0; i < H; i += 16) {
        const __m512 n = _mm512_castsi512_ps(round_bf16x16(_mm512_mul_ps(bf16x16_f32(s + i), _mm512_set1_ps(inv))));
        _mm256_storeu_si256((__m256i*) (out + i), f32x16_bf16(_mm512_mul_ps(bf16x16_f32(w + i), n)));
    }
}

static void rms_norm_rows(const uint16_t* x, const uint16_t* r, const uint16_t* w, uint16_t* sum, uint16_t* out,
                          int64_t T, int64_t H, float eps) {
    void (*row)(const uint16_t*, const uint16_t*, const uint16_t*, uint16_t*, uint16_t*, int64_t, float) =
            isa == ISA_AVX512_BF16 && H % 16 == 0 ? rms_norm_row512 : rms_norm_row;
    /* on one thread below 8,192 elements (AVX-512; 2,048 scalar): 4 rows of 2,048 took as long on one as on two */
#pragma omp parallel for schedule(static) if (T > 1 && T * H >= (row == rms_norm_row ? 2048 : 8192))
    for (int64_t t = 0; t < T; t++)
        row(x + t * H, r != NULL ? r + t * H : NULL, w, r != NULL ? sum + t * H : NULL, out + t * H, H, eps);
}

/*
 * stack: x, w, eps -> out (rms_norm); x, r, w, eps -> sum, out (add_rms_norm, residual: r as x's shape): [0, 0]
 * where the kernel cannot take the call
 */
static void norm_boxed(StableIValue* stack, const int residual) {
    AtenTensorHandle x = (AtenTensorHandle) (uintptr_t) stack[0];
    AtenTensorHandle r = residual ? (AtenTensorHandle) (uintptr_t) stack[1] : NULL;
    AtenTensorHandle w = (AtenTensorHandle) (uintptr_t) stack[residual ? 2 : 1];
    double eps = 0;
    memcpy(&eps, &stack[residual ? 3 : 2], sizeof eps);
    int64_t T = 0, H = 0, rT = 0, rH = 0;
    int ok = matrix(x, &T, &H) && dtype(x) == aoti_torch_dtype_bfloat16()
             && vector_of(w, H, aoti_torch_dtype_bfloat16())
             && (!residual || (matrix(r, &rT, &rH) && rT == T && rH == H && dtype(r) == aoti_torch_dtype_bfloat16()));
    const int64_t sizes[2] = {ok ? T : 0, ok ? H : 0};
    AtenTensorHandle out = empty(2, sizes, aoti_torch_dtype_bfloat16());
    AtenTensorHandle sum = residual ? empty(2, sizes, aoti_torch_dtype_bfloat16()) : NULL;
    if (ok && T > 0 && H > 0) {
        void *xp = 0, *rp = 0, *wp = 0, *sp = 0, *op = 0;
        aoti_torch_get_data_ptr(x, &xp);
        aoti_torch_get_data_ptr(w, &wp);
        aoti_torch_get_data_ptr(out, &op);
        if (residual) {
            aoti_torch_get_data_ptr(r, &rp);
            aoti_torch_get_data_ptr(sum, &sp);
        }
        rms_norm_rows((const uint16_t*) xp, (const uint16_t*) rp, (const uint16_t*) wp, (uint16_t*) sp,
                      (uint16_t*) op, T, H, (float) eps);
    }
    aoti_torch_delete_tensor_object(x);
    aoti_torch_delete_tensor_object(w);
    if (residual) {
        aoti_torch_delete_tensor_object(r);
        stack[0] = (StableIValue) (uintptr_t) sum;
        stack[1] = (StableIValue) (uintptr_t) out;
    } else {
        stack[0] = (StableIValue) (uintptr_t) out;
    }
}

static void rms_norm_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    norm_boxed(stack, 0);
}

static void add_rms_norm_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    norm_boxed(stack, 1);
}

/*
 * The MLP's silu(gate) * up in one pass, bit for bit what the step script's two bf16 ops give: torch.silu rounds
 * x / (1 + exp(-x)) (float32) to bf16, and the product of two bf16 is rounded once more. ATen computes silu 64
 * elements at a time (two vectors of 32 bf16) with Vectorized<float>::exp(), which is SLEEF's Sleef_expf16_u10 on
 * AVX-512 (Sleef_expf8_u10 on AVX2, 32 at a time), and the last n % 64 (32) elements with std::exp: so does this
 * kernel, calling the very SLEEF functions of the libtorch this process loaded (looked up once; where they are
 * missing the op answers [0, 0] and silu_ready 0, and the step keeps torch's two ops). Rows of a step are
 * elementwise, so a row's values do not depend on the rows beside it.
 */
typedef __m512 (*exp16_fn)(__m512);
typedef __m256 (*exp8_fn)(__m256);
static void* sleef_exp16;   /* Sleef_expf16_u10 */
static void* sleef_exp8;    /* Sleef_expf8_u10 */
static pthread_once_t sleef_once = PTHREAD_ONCE_INIT;

static void sleef_find(void) {
    void* h = dlopen("libtorch_cpu.so", RTLD_LAZY | RTLD_NOLOAD);   /* the one already loaded (this library's own) */
    if (h == NULL) return;
    sleef_exp16 = dlsym(h, "Sleef_expf16_u10");
    sleef_exp8 = dlsym(h, "Sleef_expf8_u10");
    dlclose(h);
}

/* the chunk ATen's vectorized loop takes for bf16 under the ISA in use (0 where this kernel cannot run) */
static int64_t silu_chunk(void) {
    pthread_once(&sleef_once, sleef_find);
    return isa == ISA_AVX512_BF16 && sleef_exp16 != NULL ? 64 : isa == ISA_AVX2 && sleef_exp8 != NULL ? 32 : 0;
}

/* silu's float32 value sx rounded to bf16 as torch.silu returns it, times up, rounded as the bf16 product is */
static inline uint16_t silu_times(float sx, uint16_t u) {
    return f32_to_bf16(bf16_to_f32(f32_to_bf16(sx)) * bf16_to_f32(u));
}

T512 static void silu_mul512(const uint16_t* g, const uint16_t* u, uint16_t* out, int64_t i0, int64_t i1) {
    const exp16_fn e = (exp16_fn) sleef_exp16;
    for (int64_t i = i0; i < i1; i += 16) {
        const __m512 x = bf16x16_f32(g + i);
        const __m512 sx = _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e(_mm512_xor_ps(x, _mm512_set1_ps(-0.0f)))));
        const __m512 y = _mm512_mul_ps(_mm512_castsi512_ps(round_bf16x16(sx)), bf16x16_f32(u + i));
        _mm256_storeu_si256((__m256i*) (out + i), f32x16_bf16(y));
    }
}

T256 static void silu_mul256(const uint16_t* g, const uint16_t* u, uint16_t* out, int64_t i0, int64_t i1) {
    const exp8_fn e = (exp8_fn) sleef_exp8;
    for (int64_t i = i0; i < i1; i += 8) {
        const __m256 x = bf16x8_f32(g + i);
        float sx[8];
        _mm256_storeu_ps(sx, _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e(_mm256_xor_ps(x, _mm256_set1_ps(-0.0f))))));
        for (int j = 0; j < 8; j++) out[i + j] = silu_times(sx[j], u[i + j]);
    }
}

static void silu_mul(const uint16_t* g, const uint16_t* u, uint16_t* out, int64_t n, int64_t chunk) {
    const int64_t v = n - n % chunk;   /* the vector part, in blocks of 1,024 (a multiple of chunk) */
    /* on every thread from 4,096 elements: one row of 8,192 took 5.0-6.2 us on two cores, 7.2-8.2 on one (harness) */
#pragma omp parallel for schedule(static) if (n >= 4096)
    for (int64_t i0 = 0; i0 < v; i0 += 1024) {
        const int64_t i1 = v - i0 < 1024 ? v : i0 + 1024;
        if (chunk == 64) silu_mul512(g, u, out, i0, i1);
        else silu_mul256(g, u, out, i0, i1);
    }
    for (int64_t i = v; i < n; i++) {   /* ATen's scalar silu */
        const float x = bf16_to_f32(g[i]);
        out[i] = silu_times(x / (1.0f + expf(-x)), u[i]);
    }
}

/* stack: gate, up ([T, I] bf16, contiguous) -> silu(gate) * up [T, I] bf16 ([0, 0] where the kernel cannot take it) */
static void silu_mul_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    AtenTensorHandle g = (AtenTensorHandle) (uintptr_t) stack[0];
    AtenTensorHandle u = (AtenTensorHandle) (uintptr_t) stack[1];
    int64_t T = 0, I = 0, uT = 0, uI = 0;
    const int64_t chunk = silu_chunk();
    int ok = chunk > 0 && matrix(g, &T, &I) && matrix(u, &uT, &uI) && uT == T && uI == I
             && dtype(g) == aoti_torch_dtype_bfloat16() && dtype(u) == aoti_torch_dtype_bfloat16();
    const int64_t sizes[2] = {ok ? T : 0, ok ? I : 0};
    AtenTensorHandle out = empty(2, sizes, aoti_torch_dtype_bfloat16());
    if (ok && T * I > 0) {
        void *gp = 0, *up = 0, *op = 0;
        aoti_torch_get_data_ptr(g, &gp);
        aoti_torch_get_data_ptr(u, &up);
        aoti_torch_get_data_ptr(out, &op);
        silu_mul((const uint16_t*) gp, (const uint16_t*) up, (uint16_t*) op, T * I, chunk);
    }
    aoti_torch_delete_tensor_object(g);
    aoti_torch_delete_tensor_object(u);
    stack[0] = (StableIValue) (uintptr_t) out;
}

/* stack: -> 1 where silu_mul can run with the ISA in use (ATen's SLEEF functions found), else 0 */
static void silu_ready_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    stack[0] = (StableIValue) (silu_chunk() > 0);
}

/*
 * Rotary embedding and the KV write of one layer's step, as llama_step.py's
 *   q = q * cos + rotate_half(q) * sin;  k = k * cos + rotate_half(k) * sin;  k_cache[slots] = k;  v_cache[slots] = v
 * in one call instead of twenty tensor ops: each product and the sum rounded to bf16 as torch's three bf16 ops round
 * them (float32 arithmetic, round to nearest even), so the results are bit-identical. rotate_half(x)[d] is -x[d + D/2]
 * for d < D/2, x[d - D/2] after. x [heads, D] of one token, cs (cos) and sn (sin) [D] of its position.
 */
static void rope_heads(const uint16_t* x, const uint16_t* cs, const uint16_t* sn, uint16_t* out, int64_t heads,
                       int64_t D) {
    const int64_t half = D / 2;
    for (int64_t h = 0; h < heads; h++) {
        const uint16_t* r = x + h * D;
        for (int64_t d = 0; d < D; d++) {
            const float rot = d < half ? -bf16_to_f32(r[d + half]) : bf16_to_f32(r[d - half]);
            const float a = bf16_to_f32(f32_to_bf16(bf16_to_f32(r[d]) * bf16_to_f32(cs[d])));
            const float b = bf16_to_f32(f32_to_bf16(rot * bf16_to_f32(sn[d])));
            out[h * D + d] = f32_to_bf16(a + b);
        }
    }
}

/* rope_heads, 16 inputs at a time (D % 32 == 0) */
T512 static void rope_heads512(const uint16_t* x, const uint16_t* cs, const uint16_t* sn, uint16_t* out,
                               int64_t heads, int64_t D) {
    const int64_t half = D / 2;
    const __m512 neg = _mm512_set1_ps(-0.0f);
    for (int64_t h = 0; h < heads; h++) {
        const uint16_t* r = x + h * D;
        for (int64_t d = 0; d < D; d += 16) {
            const __m512 rot = d < half ? _mm512_xor_ps(bf16x16_f32(r + d + half), neg) : bf16x16_f32(r + d - half);
            const __m512 a = _mm512_castsi512_ps(round_bf16x16(_mm512_mul_ps(bf16x16_f32(r + d), bf16x16_f32(cs + d))));
            const __m512 b = _mm512_castsi512_ps(round_bf16x16(_mm512_mul_ps(rot, bf16x16_f32(sn + d))));
            _mm256_storeu_si256((__m256i*) (out + h * D + d), f32x16_bf16(_mm512_add_ps(a, b)));
        }
    }
}

/*
 * q [T, NH, D] and k [T, KVH, D] rotated by cos, sin [T, D] (q into out [T, NH, D], k into k_cache's rows slots[t]),
 * v [T, KVH, D] copied into v_cache's: the caches [S, KVH, D], every slot checked by the caller
 */
static void rope_kv_run(const uint16_t* q, const uint16_t* k, const uint16_t* v, const uint16_t* cos,
                        const uint16_t* sin, uint16_t* kc, uint16_t* vc, const int64_t* slots, uint16_t* out,
                        int64_t T, int64_t NH, int64_t KVH, int64_t D) {
    const int64_t row = KVH * D;
    void (*rope)(const uint16_t*, const uint16_t*, const uint16_t*, uint16_t*, int64_t, int64_t) =
            isa == ISA_AVX512_BF16 && D % 32 == 0 ? rope_heads512 : rope_heads;
#pragma omp parallel for schedule(static) if (T > 8)
    for (int64_t t = 0; t < T; t++) {
        rope(q + t * NH * D, cos + t * D, sin + t * D, out + t * NH * D, NH, D);
        rope(k + t * row, cos + t * D, sin + t * D, kc + slots[t] * row, KVH, D);
        memcpy(vc + slots[t] * row, v + t * row, (size_t) row * sizeof(uint16_t));
    }
}

/* whether each of the T slots lies in a cache of S slots */
static int slots_ok(const int64_t* slots, int64_t T, int64_t S) {
    for (int64_t t = 0; t < T; t++) {
        if (slots[t] < 0 || slots[t] >= S) return 0;
    }
    return 1;
}

/* t's n sizes into sizes; 0 where t has another number of dims or is not row-major contiguous */
static int dims_of(AtenTensorHandle t, int64_t n, int64_t* sizes) {
    int64_t dim = 0, *s = 0;
    aoti_torch_get_dim(t, &dim);
    if (dim != n || !contiguous(t)) return 0;
    aoti_torch_get_sizes(t, &s);
    for (int64_t i = 0; i < n; i++) sizes[i] = s[i];
    return 1;
}

/*
 * stack: q [T, NH, D], k [T, KVH, D], v [T, KVH, D], cos [T, 1, D], sin [T, 1, D], k_cache [S, KVH, D], v_cache
 * [S, KVH, D] (bf16, contiguous), slots [T] int64 in [0, S) -> q rotated [T, NH, D]; k rotated written to k_cache's
 * slots, v to v_cache's ([0, 0, 0] and nothing written where the kernel cannot take the call)
 */
static void rope_kv_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    AtenTensorHandle h[8];
    for (int i = 0; i < 8; i++) h[i] = (AtenTensorHandle) (uintptr_t) stack[i];
    int64_t q[3], k[3], v[3], c[3], sn[3], kc[3], vc[3], sl[1];
    int ok = isa != ISA_NONE && dims_of(h[0], 3, q) && dims_of(h[1], 3, k) && dims_of(h[2], 3, v)
             && dims_of(h[3], 3, c) && dims_of(h[4], 3, sn) && dims_of(h[5], 3, kc) && dims_of(h[6], 3, vc)
             && dims_of(h[7], 1, sl);
    for (int i = 0; ok && i < 7; i++) ok = dtype(h[i]) == aoti_torch_dtype_bfloat16();
    ok = ok && dtype(h[7]) == aoti_torch_dtype_int64() && q[2] % 2 == 0
         && k[0] == q[0] && v[0] == q[0] && c[0] == q[0] && sn[0] == q[0] && sl[0] == q[0]
         && k[2] == q[2] && v[1] == k[1] && v[2] == q[2] && c[1] == 1 && c[2] == q[2] && sn[1] == 1 && sn[2] == q[2]
         && kc[1] == k[1] && kc[2] == q[2] && vc[0] == kc[0] && vc[1] == k[1] && vc[2] == q[2];
    void* p[9] = {0};
    for (int i = 0; ok && i < 8; i++) aoti_torch_get_data_ptr(h[i], &p[i]);
    const int64_t* slots = (const int64_t*) p[7];
    ok = ok && slots_ok(slots, q[0], kc[0]);
    const int64_t sizes[3] = {ok ? q[0] : 0, ok ? q[1] : 0, ok ? q[2] : 0};
    AtenTensorHandle out = empty(3, sizes, aoti_torch_dtype_bfloat16());
    if (ok && q[0] > 0) {
        aoti_torch_get_data_ptr(out, &p[8]);
        rope_kv_run((const uint16_t*) p[0], (const uint16_t*) p[1], (const uint16_t*) p[2], (const uint16_t*) p[3],
                    (const uint16_t*) p[4], (uint16_t*) p[5], (uint16_t*) p[6], slots, (uint16_t*) p[8], q[0], q[1],
                    k[1], q[2]);
    }
    for (int i = 0; i < 8; i++) aoti_torch_delete_tensor_object(h[i]);
    stack[0] = (StableIValue) (uintptr_t) out;
}

/*
 * decoder_layer's activations of `bytes` (64-byte aligned): a block of its own, freed after the call, below
 * LAYER_KEEP_BYTES; from there (a prefill chunk: 512 tokens of the 1B shape take 25 MiB, 2,048 tokens 100 MiB) the
 * calling thread's block kept from call to call (thread_scratch's SCRATCH_LAYER, freed with the thread, as large as
 * the largest call so far). glibc maps an allocation above 32 MiB afresh every time, and each of its 4 KiB pages
 * faulted on its first write, in every layer: 25,600 faults a layer at 2,048 tokens. Below the bound the block is
 * taken per call, as before: buffers kept from call to call ran 16 rows 2.6 % slower (see decoder_layer).
 */
#define LAYER_KEEP_BYTES ((int64_t) 8 << 20)
/*
 * The block starts 2 KiB from the offset of `apart` (the weights) within 4 KiB (apart_from), so that the several-row
 * kernels find the activations out of the weights' L1 sets and copy nothing (rows_apart): the kept block had lain
 * within 256 bytes of them in every linear of a prefill chunk. *room: what layer_work_done gives back (NULL: the
 * thread's kept block). The call's own block comes from aligned_alloc, as before: from malloc, 16-row decode steps
 * faulted ~1,000 fresh pages every few steps (StepProfileBenchmark), where aligned_alloc's faulted 0-5.
 */
static uint16_t* layer_work(int64_t bytes, const void* apart, void** room) {
    if (bytes < LAYER_KEEP_BYTES) {
        *room = aligned_alloc(64, (size_t) (bytes + APART_ROOM));
        return *room == NULL ? NULL : (uint16_t*) apart_from(*room, apart);
    }
    *room = NULL;
    int8_t* p = thread_scratch(SCRATCH_LAYER, bytes + APART_ROOM);
    return p == NULL ? NULL : (uint16_t*) apart_from(p, apart);
}

/* gives back what layer_work gave: freed where it was the call's own, kept where it is the thread's */
static void layer_work_done(void* room) {
    free(room);
}

/*
 * One decoder layer of a step whose every op runs here (llama_step.py's layer loop where LlamaModel sends
 * fused_layers: bf16 caches, native attention of every row; bf16 weights, or blocked int8 ones with their scales), in
 * one call instead of about twenty script ops, each of which cost the script's interpreter and the dispatcher a few
 * microseconds: the 1B shape's step outside its linear kernels, alternated in one process (AMD EPYC Zen 5, 2 cores),
 * 2.60 ms against 3.64 at one row, 9.41 against 10.43 at 16 rows. The same kernels in the same order as the script's
 * ops (linear_run, rms_norm_rows, rope_kv_run, decode_attention_run, silu_mul), so the outputs are the same bit for
 * bit:
 *   s = x + r (residual; else s = x), h = input_layernorm(s), q, k, v = h's q_proj, k_proj, v_proj,
 *   q = rope(q), k = rope(k) and v written to the caches' slots, a = attention(q) over tables up to pos,
 *   x' = s + o_proj(a), h = post_attention_layernorm(x'), mlp = down_proj(silu(gate_proj(h)) * up_proj(h))
 * t: x [T, H], r [T, H], input_layernorm [H], q_proj [NH*D, H], k_proj [KVH*D, H], v_proj [KVH*D, H],
 * o_proj [H, NH*D], post_attention_layernorm [H], gate_proj [I, H], up_proj [I, H], down_proj [H, I], k_cache
 * [S, KVH, D], v_cache [S, KVH, D], cos [T, 1, D], sin [T, 1, D] (bf16, contiguous; the seven projections int8
 * blocked where kind is LINEAR_INT8 or LINEAR_W8A8, with their bf16 scales [N] in sc, in the same order), slots [T],
 * tables [T, P], pos [T] (int64) -> (x' [T, H], mlp [T, H]) in out; two [0, 0] and nothing written where the kernels
 * cannot take the call (the caches written where a W8A8 linear after the rotary found no memory for its rows).
 */
static void decoder_layer(AtenTensorHandle* t, AtenTensorHandle* sc, const int kind, const int64_t PS, const double eps,
                          const int residual, AtenTensorHandle* out) {
    const int q8 = kind != LINEAR_BF16;
    const int32_t bf = aoti_torch_dtype_bfloat16(), i64 = aoti_torch_dtype_int64(), wt = q8 ? aoti_torch_dtype_int8() : bf;
    const int64_t chunk = silu_chunk();
    int64_t T = 0, H = 0, rT = 0, rH = 0, n[7], k[7], tT = 0, P = 0, kc[3], vc[3], c[3], sn[3], sl[1], ps[1];
    static const int proj[7] = {3, 4, 5, 6, 8, 9, 10};   /* q, k, v, o, gate, up, down among t */
    int ok = (kind == LINEAR_W8A8 ? isa == ISA_AVX512_BF16 : isa != ISA_NONE) && chunk > 0 && PS > 0
             && matrix(t[0], &T, &H) && matrix(t[1], &rT, &rH) && rT == T && rH == H && vector_of(t[2], H, bf)
             && vector_of(t[7], H, bf) && dims_of(t[11], 3, kc) && dims_of(t[12], 3, vc) && dims_of(t[13], 3, c)
             && dims_of(t[14], 3, sn) && dims_of(t[15], 1, sl) && matrix(t[16], &tT, &P) && dims_of(t[17], 1, ps);
    for (int i = 0; ok && i < 7; i++) {
        ok = matrix(t[proj[i]], &n[i], &k[i]) && dtype(t[proj[i]]) == wt
             && (!q8 || (n[i] % 4 == 0 && k[i] % 32 == 0 && vector_of(sc[i], n[i], bf)));
    }
    static const int bf16_at[6] = {0, 1, 11, 12, 13, 14};   /* x, r, the caches, cos, sin (the norms: vector_of) */
    for (int i = 0; ok && i < 6; i++) ok = dtype(t[bf16_at[i]]) == bf;
    for (int i = 15; ok && i < 18; i++) ok = dtype(t[i]) == i64;   /* slots, tables, pos */
    const int64_t S = ok ? kc[0] : 0, KVH = ok ? kc[1] : 0, D = ok ? kc[2] : 0;
    const int64_t NH = D > 0 ? n[0] / D : 0, I = ok ? n[4] : 0;
    ok = ok && D > 0 && D % 2 == 0 && KVH > 0 && n[0] % D == 0 && NH % KVH == 0 && attention_body(NH / KVH, D) > 0
         && vc[0] == S && vc[1] == KVH && vc[2] == D
         && k[0] == H && n[1] == KVH * D && k[1] == H && n[2] == KVH * D && k[2] == H && n[3] == H && k[3] == NH * D
         && k[4] == H && n[5] == I && k[5] == H && n[6] == H && k[6] == I && I > 0
         && c[0] == T && c[1] == 1 && c[2] == D && sn[0] == T && sn[1] == 1 && sn[2] == D
         && sl[0] == T && tT == T && ps[0] == T;
    void *p[18] = {0}, *s[7] = {0};
    for (int i = 0; ok && i < 18; i++) aoti_torch_get_data_ptr(t[i], &p[i]);
    for (int i = 0; ok && q8 && i < 7; i++) aoti_torch_get_data_ptr(sc[i], &s[i]);
    const int64_t* slots = (const int64_t*) p[15];
    ok = ok && slots_ok(slots, T, S) && pages_ok((const int64_t*) p[16], (const int64_t*) p[17], T, P, PS, S);
    /*
     * The activations, in one block taken for the call and freed after it (layer_work: kept from call to call from
     * LAYER_KEEP_BYTES), each buffer used again once its value is dead, as the allocator hands the script's freed
     * tensors to its next ops: a buffer for each, kept from call to call, ran 16 rows 2.6 % slower than the script's
     * ops (alternated, 8 rounds; the activations spread over more of the caches), this block 0.9 % faster. Its parts:
     *   a: s (the residual stream until the second norm); b: the first norm's h, then o_proj's output;
     *   c: q, then the attention's output, then the second norm's h; d, e: k, v; f: q rotated;
     *   g: gate, then silu(gate) * up in place (each element read before it is written); u: up
     * each a multiple of 4 KiB, so that every one starts at the block's offset within 4 KiB (layer_work).
     */
    const int64_t A = 2048, hs = (T * H + A - 1) / A * A, qs = (T * NH * D + A - 1) / A * A,
                  ks = (T * KVH * D + A - 1) / A * A, is = (T * I + A - 1) / A * A, cs = qs > hs ? qs : hs;
    const int64_t work_bytes = (2 * hs + cs + 2 * ks + qs + 2 * is) * 2;
    void* room = NULL;
    uint16_t* work = ok && T > 0 ? layer_work(work_bytes, p[3], &room) : NULL;
    ok = ok && (T == 0 || work != NULL);
    const int64_t sizes[2] = {ok ? T : 0, ok ? H : 0};
    out[0] = empty(2, sizes, bf);
    out[1] = empty(2, sizes, bf);
    if (ok && T > 0) {
        void *xo = 0, *mo = 0;
        aoti_torch_get_data_ptr(out[0], &xo);
        aoti_torch_get_data_ptr(out[1], &mo);
        uint16_t *a = work, *b = a + hs, *c = b + hs, *d = c + cs, *e = d + ks, *f = e + ks, *g = f + qs, *u = g + is;
        const uint16_t* x = (const uint16_t*) p[0];
        const uint16_t* const* sp = (const uint16_t* const*) s;
        rms_norm_rows(x, residual ? (const uint16_t*) p[1] : NULL, (const uint16_t*) p[2], residual ? a : NULL, b, T,
                      H, (float) eps);
        const uint16_t* res = residual ? a : x;
        ok = linear_run(kind, b, p[3], sp[0], c, T, NH * D, H) && linear_run(kind, b, p[4], sp[1], d, T, KVH * D, H)
             && linear_run(kind, b, p[5], sp[2], e, T, KVH * D, H);
        if (ok) {
            rope_kv_run(c, d, e, (const uint16_t*) p[13], (const uint16_t*) p[14], (uint16_t*) p[11],
                        (uint16_t*) p[12], slots, f, T, NH, KVH, D);
            decode_attention_run(f, (const uint16_t*) p[11], (const uint16_t*) p[12], (const int64_t*) p[16],
                                 (const int64_t*) p[17], c, T, NH, KVH, D, P, PS);
            ok = linear_run(kind, c, p[6], sp[3], b, T, H, NH * D);
        }
        if (ok) {
            rms_norm_rows(res, b, (const uint16_t*) p[7], (uint16_t*) xo, c, T, H, (float) eps);
            ok = linear_run(kind, c, p[8], sp[4], g, T, I, H) && linear_run(kind, c, p[9], sp[5], u, T, I, H);
        }
        if (ok) {
            silu_mul(g, u, g, T * I, chunk);
            ok = linear_run(kind, g, p[10], sp[6], (uint16_t*) mo, T, H, I);
        }
        if (!ok) {   /* a W8A8 linear found no memory for its quantized rows: refused, as linear_boxed refuses */
            const int64_t none[2] = {0, 0};
            for (int i = 0; i < 2; i++) {
                aoti_torch_delete_tensor_object(out[i]);
                out[i] = empty(2, none, bf);
            }
        }
    }
    layer_work_done(room);
}

/* stack: the 18 tensors of decoder_layer's t, page_size, eps, residual -> (x', mlp): bf16 weights */
static void decoder_layer_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    AtenTensorHandle t[18], out[2];
    for (int i = 0; i < 18; i++) t[i] = (AtenTensorHandle) (uintptr_t) stack[i];
    double eps = 0;
    memcpy(&eps, &stack[19], sizeof eps);
    decoder_layer(t, NULL, LINEAR_BF16, (int64_t) stack[18], eps, (int) (stack[20] & 1), out);
    for (int i = 0; i < 18; i++) aoti_torch_delete_tensor_object(t[i]);
    stack[0] = (StableIValue) (uintptr_t) out[0];
    stack[1] = (StableIValue) (uintptr_t) out[1];
}

/*
 * stack: x, r, input_layernorm, q_proj, q_scale, k_proj, k_scale, v_proj, v_scale, o_proj, o_scale,
 * post_attention_layernorm, gate_proj, gate_scale, up_proj, up_scale, down_proj, down_scale, k_cache, v_cache, cos,
 * sin, slots, tables, pos, page_size, eps, residual, w8a8 -> (x', mlp): blocked int8 weights (linear_int8's, or with
 * w8a8 linear_w8a8's)
 */
static void decoder_layer_int8_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    static const int at[18] = {0, 1, 2, 3, 5, 7, 9, 11, 12, 14, 16, 18, 19, 20, 21, 22, 23, 24};
    static const int scale_at[7] = {4, 6, 8, 10, 13, 15, 17};
    AtenTensorHandle t[18], sc[7], out[2];
    for (int i = 0; i < 18; i++) t[i] = (AtenTensorHandle) (uintptr_t) stack[at[i]];
    for (int i = 0; i < 7; i++) sc[i] = (AtenTensorHandle) (uintptr_t) stack[scale_at[i]];
    double eps = 0;
    memcpy(&eps, &stack[26], sizeof eps);
    decoder_layer(t, sc, (stack[28] & 1) ? LINEAR_W8A8 : LINEAR_INT8, (int64_t) stack[25], eps, (int) (stack[27] & 1),
                  out);
    for (int i = 0; i < 18; i++) aoti_torch_delete_tensor_object(t[i]);
    for (int i = 0; i < 7; i++) aoti_torch_delete_tensor_object(sc[i]);
    stack[0] = (StableIValue) (uintptr_t) out[0];
    stack[1] = (StableIValue) (uintptr_t) out[1];
}

static int best_isa(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni")
            && __builtin_cpu_supports("avx512vbmi")
            && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
        return ISA_AVX512_BF16;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
    return ISA_NONE;
}

/* bytes per element of t's dtype, for the dtypes weights and bench tensors come in; 0 for any other */
static int64_t item_bytes(AtenTensorHandle t) {
    const int64_t d = dtype(t);
    if (d == aoti_torch_dtype_bfloat16() || d == aoti_torch_dtype_float16()) return 2;
    if (d == aoti_torch_dtype_float32()) return 4;
    if (d == aoti_torch_dtype_int8() || d == aoti_torch_dtype_uint8()) return 1;
    return 0;
}

/* the bytes of t from its data pointer where t is contiguous and of a dtype item_bytes knows; else -1 */
static int64_t span_bytes(AtenTensorHandle t) {
    int64_t n = 0;
    aoti_torch_get_numel(t, &n);
    const int64_t item = item_bytes(t);
    return contiguous(t) && item > 0 ? n * item : -1;
}

static int thp_never;   /* transparent huge pages are off ("[never]") or absent on this host */
static pthread_once_t thp_once = PTHREAD_ONCE_INIT;

static void thp_read(void) {
    char buf[128] = {0};
    FILE* f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    thp_never = f == NULL || fgets(buf, sizeof buf, f) == NULL || strstr(buf, "[never]") != NULL;
    if (f != NULL) fclose(f);
}

#define HUGE_PAGE ((uintptr_t) 2 << 20)   /* a transparent huge page: 2 MiB */

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25   /* Linux 6.1+; older kernels refuse it (EINVAL) */
#endif

/*
 * Weights on 2 MiB pages (transparent huge pages): each step reads every weight once, and on 4 KiB pages that is a
 * TLB miss every 4 KiB of every matrix (a row of K = 2,048 bf16 is one page), whose page walk is nested in a VM: in
 * this project's VMs a sum over 1 GiB read 27-35 GB/s on 4 KiB pages and 54-60 on 2 MiB ones, and the 16-row step of
 * the 1B shape ran 7 % faster (docs/native-cpu-kernels.md). Acts on the 2 MiB-aligned interior of [p, p + bytes).
 * `written` 0: the memory holds nothing yet (a tensor just made, about to be filled): its pages are dropped
 * (MADV_DONTNEED: glibc may hand out memory it used before, whose pages would stay small) and advised
 * (MADV_HUGEPAGE), so that the writes fault in huge pages. `written` 1: advised, then collapsed (MADV_COLLAPSE),
 * which copies each 2 MiB (some 5 ms each in these VMs; nothing where already huge). Returns the bytes advised
 * (written: collapsed); 0 where the tensor holds no aligned 2 MiB or the kernel refused (no MADV_COLLAPSE before
 * Linux 6.1, no huge page free: written memory stays on 4 KiB pages); -1 where transparent huge pages are off
 * ("[never]", which MADV_COLLAPSE would override) or absent.
 */
static int64_t huge_pages(void* p, int64_t bytes, int written) {
    pthread_once(&thp_once, thp_read);
    if (thp_never) return -1;
    const uintptr_t a = ((uintptr_t) p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    const uintptr_t b = ((uintptr_t) p + (uintptr_t) bytes) & ~(HUGE_PAGE - 1);
    if (b <= a || (!written && madvise((void*) a, b - a, MADV_DONTNEED) != 0)
            || madvise((void*) a, b - a, MADV_HUGEPAGE) != 0) return 0;
    if (!written) return (int64_t) (b - a);
    return madvise((void*) a, b - a, MADV_COLLAPSE) == 0 ? (int64_t) (b - a) : 0;
}

/* stack: t, written -> huge_pages over t's bytes (0, nothing done, where t is not contiguous: span_bytes) */
static void huge_pages_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    AtenTensorHandle t = (AtenTensorHandle) (uintptr_t) stack[0];
    void* p = 0;
    aoti_torch_get_data_ptr(t, &p);
    const int64_t bytes = span_bytes(t);
    const int64_t r = bytes < 0 ? 0 : huge_pages(p, bytes, (int64_t) stack[1] != 0);
    aoti_torch_delete_tensor_object(t);
    stack[0] = (StableIValue) r;
}

/* stack: t -> the bytes from t's first byte to the next 2 MiB boundary, 0 where it starts on one */
static void huge_offset_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    AtenTensorHandle t = (AtenTensorHandle) (uintptr_t) stack[0];
    void* p = 0;
    aoti_torch_get_data_ptr(t, &p);
    aoti_torch_delete_tensor_object(t);
    stack[0] = (StableIValue) (int64_t) ((HUGE_PAGE - (uintptr_t) p % HUGE_PAGE) % HUGE_PAGE);
}

/*
 * stack: out, raw -> the bytes of raw (contiguous uint8) copied into out (contiguous, exactly as many bytes), or 0
 * and nothing written where the two differ: the loader's weight of the checkpoint's own dtype, straight from the
 * mapped file into memory advised onto huge pages (TorchScript here has no view(dtype), and view_copy(out=) makes a
 * copy first)
 */
static void copy_raw_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    AtenTensorHandle out = (AtenTensorHandle) (uintptr_t) stack[0];
    AtenTensorHandle raw = (AtenTensorHandle) (uintptr_t) stack[1];
    const int64_t bytes = span_bytes(out);
    int64_t r = 0;
    if (bytes > 0 && dtype(raw) == aoti_torch_dtype_uint8() && span_bytes(raw) == bytes) {
        void *dst = 0, *src = 0;
        aoti_torch_get_data_ptr(out, &dst);
        aoti_torch_get_data_ptr(raw, &src);
        memcpy(dst, src, (size_t) bytes);
        r = bytes;
    }
    aoti_torch_delete_tensor_object(out);
    aoti_torch_delete_tensor_object(raw);
    stack[0] = (StableIValue) r;
}

/* stack: group, head_dim -> attention_body's answer for them on the ISA in use */
static void attention_body_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    stack[0] = (StableIValue) (int64_t) attention_body((int64_t) stack[0], (int64_t) stack[1]);
}

/* stack: force -> the ISA in use; force in [0, best] chooses it (tests run both kernels on one machine), -2 the best */
static void isa_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    int64_t force = (int64_t) stack[0];
    if (force >= 0 && force <= best_isa()) isa = (int) force;
    if (force == -2) isa = best_isa();
    stack[0] = (StableIValue) (int64_t) isa;
}

/*
 * Whether the CPU has AMX-BF16 (and AVX-512 VBMI for the widening) and Linux grants this process the tiles' state
 * (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA, process-wide; oneDNN asks the same).
 */
static int amx_detect(void) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const int amx = (d >> 22 & 1) && (d >> 24 & 1) && (c >> 1 & 1);   /* AMX-BF16, AMX-TILE, AVX512_VBMI */
    amx_int8 = amx && (d >> 25 & 1);                                   /* AMX-INT8 */
    return amx && syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
}

/*
 * stack: force -> whether linear_bf16 and linear_int8 use AMX tiles; force 0 or 1 switches (1 only where the CPU has
 * them), -1 asks
 */
static void amx_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    int64_t force = (int64_t) stack[0];
    if (force == 0 || force == 1) amx_tiles = (int) force && amx_ready;
    stack[0] = (StableIValue) (int64_t) amx_tiles;
}

/* stack: force -> whether the bf16, int8 and W8A8 tiles prefetch into L1 (1) or L2 (0, see gemm_pf_l1); force 1 or 0
   switches, -1 asks */
static void gemm_prefetch_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    int64_t force = (int64_t) stack[0];
    if (force == 0 || force == 1) gemm_pf_l1 = (int) force;
    stack[0] = (StableIValue) (int64_t) gemm_pf_l1;
}

/* stack: force -> where gemm512_bf16 copies its rows apart from the weights (rows_apart: 1 where they lie within 1 KiB of
   the weights' offset, 2 always, 0 never); force 0-2 switches, -1 asks */
static void gemm_apart_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    int64_t force = (int64_t) stack[0];
    if (force >= 0 && force <= 2) gemm_apart = (int) force;
    stack[0] = (StableIValue) (int64_t) gemm_apart;
}

/* stack: () -> the threads a parallel region of these kernels runs on, from the calling thread */
static void threads_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    int64_t n = 0;
#pragma omp parallel
    {
#pragma omp single
        n = omp_get_num_threads();
    }
    stack[0] = (StableIValue) n;
}

/* runs when the library is loaded (NativeKernels, after DJL has loaded libtorch) */
__attribute__((constructor)) static void llamaserve_register(void) {
    widen_tables_init();
    isa = best_isa();
    amx_ready = amx_tiles = amx_detect();
    gemm_pf_l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE) >= 48 * 1024;   /* 0 or -1 where glibc cannot tell */
    TorchLibraryHandle def = 0, cpu = 0, any = 0;
    if (aoti_torch_library_init_def("llamaserve", __FILE__, __LINE__, &def) != 0) return;
    aoti_torch_library_def(def, "linear_bf16(Tensor x, Tensor w) -> Tensor");
    aoti_torch_library_def(def, "linear_int8(Tensor x, Tensor q, Tensor scale) -> Tensor");
    aoti_torch_library_def(def, "linear_w8a8(Tensor x, Tensor q, Tensor scale) -> Tensor");
    aoti_torch_library_def(def, "block_int8(Tensor q) -> Tensor");
    aoti_torch_library_def(def, "quantize_int8(Tensor raw) -> (Tensor, Tensor)");
    aoti_torch_library_def(def, "widen_int8(Tensor q, Tensor(a!) out) -> Tensor(a!)");
    aoti_torch_library_def(def, "decode_attention(Tensor q, Tensor k_cache, Tensor v_cache, Tensor tables, Tensor pos, int page_size) -> Tensor");
    aoti_torch_library_def(def, "rms_norm(Tensor x, Tensor w, float eps) -> Tensor");
    aoti_torch_library_def(def, "add_rms_norm(Tensor x, Tensor r, Tensor w, float eps) -> (Tensor, Tensor)");
    aoti_torch_library_def(def, "silu_mul(Tensor gate, Tensor up) -> Tensor");
    aoti_torch_library_def(def, "silu_ready() -> int");
    aoti_torch_library_def(def, "rope_kv(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin, Tensor(a!) k_cache, Tensor(b!) v_cache, Tensor slots) -> Tensor");
    aoti_torch_library_def(def, "decoder_layer(Tensor x, Tensor r, Tensor input_layernorm, Tensor q_proj, Tensor k_proj, "
                                "Tensor v_proj, Tensor o_proj, Tensor post_attention_layernorm, Tensor gate_proj, "
                                "Tensor up_proj, Tensor down_proj, Tensor(a!) k_cache, Tensor(b!) v_cache, Tensor cos, "
                                "Tensor sin, Tensor slots, Tensor tables, Tensor pos, int page_size, float eps, "
                                "bool residual) -> (Tensor, Tensor)");
    aoti_torch_library_def(def, "decoder_layer_int8(Tensor x, Tensor r, Tensor input_layernorm, Tensor q_proj, "
                                "Tensor q_scale, Tensor k_proj, Tensor k_scale, Tensor v_proj, Tensor v_scale, "
                                "Tensor o_proj, Tensor o_scale, Tensor post_attention_layernorm, Tensor gate_proj, "
                                "Tensor gate_scale, Tensor up_proj, Tensor up_scale, Tensor down_proj, "
                                "Tensor down_scale, Tensor(a!) k_cache, Tensor(b!) v_cache, Tensor cos, Tensor sin, "
                                "Tensor slots, Tensor tables, Tensor pos, int page_size, float eps, bool residual, "
                                "bool w8a8) -> (Tensor, Tensor)");
    aoti_torch_library_def(def, "isa(int force) -> int");
    aoti_torch_library_def(def, "attention_body(int group, int head_dim) -> int");
    aoti_torch_library_def(def, "threads() -> int");
    aoti_torch_library_def(def, "amx(int force) -> int");
    aoti_torch_library_def(def, "gemm_prefetch(int force) -> int");
    aoti_torch_library_def(def, "gemm_apart(int force) -> int");
    aoti_torch_library_def(def, "huge_pages(Tensor(a!) t, int written) -> int");
    aoti_torch_library_def(def, "huge_offset(Tensor t) -> int");
    aoti_torch_library_def(def, "copy_raw(Tensor(a!) out, Tensor raw) -> int");
    if (aoti_torch_library_init_impl("llamaserve", "CPU", __FILE__, __LINE__, &cpu) == 0) {
        aoti_torch_library_impl(cpu, "linear_bf16", linear_bf16_boxed);
        aoti_torch_library_impl(cpu, "linear_int8", linear_int8_boxed);
        aoti_torch_library_impl(cpu, "linear_w8a8", linear_w8a8_boxed);
        aoti_torch_library_impl(cpu, "block_int8", block_int8_boxed);
        aoti_torch_library_impl(cpu, "quantize_int8", quantize_int8_boxed);
        aoti_torch_library_impl(cpu, "decode_attention", decode_attention_boxed);
        aoti_torch_library_impl(cpu, "rms_norm", rms_norm_boxed);
        aoti_torch_library_impl(cpu, "add_rms_norm", add_rms_norm_boxed);
        aoti_torch_library_impl(cpu, "silu_mul", silu_mul_boxed);
        aoti_torch_library_impl(cpu, "rope_kv", rope_kv_boxed);
        aoti_torch_library_impl(cpu, "decoder_layer", decoder_layer_boxed);
        aoti_torch_library_impl(cpu, "decoder_layer_int8", decoder_layer_int8_boxed);
        aoti_torch_library_impl(cpu, "widen_int8", widen_int8_boxed);
        aoti_torch_library_impl(cpu, "huge_pages", huge_pages_boxed);
        aoti_torch_library_impl(cpu, "huge_offset", huge_offset_boxed);
        aoti_torch_library_impl(cpu, "copy_raw", copy_raw_boxed);
    }
    if (aoti_torch_library_init_impl("llamaserve", "CompositeExplicitAutograd", __FILE__, __LINE__, &any) == 0) {
        aoti_torch_library_impl(any, "isa", isa_boxed);
        aoti_torch_library_impl(any, "attention_body", attention_body_boxed);
        aoti_torch_library_impl(any, "silu_ready", silu_ready_boxed);
        aoti_torch_library_impl(any, "threads", threads_boxed);
        aoti_torch_library_impl(any, "amx", amx_boxed);
        aoti_torch_library_impl(any, "gemm_prefetch", gemm_prefetch_boxed);
        aoti_torch_library_impl(any, "gemm_apart", gemm_apart_boxed);
    }
}
