/*
 * llama-serve's CPU kernels for the decode step, registered with libtorch's dispatcher through the stable C shim
 * that libtorch_cpu.so 2.7.1 exports (torch/csrc/inductor/aoti_torch/c/shim.h): no libtorch headers, no C++, so
 * the library builds with a plain gcc and binds to whatever libtorch DJL has loaded. llama_step.py calls
 *   ops.llamaserve.linear_bf16(x, w)          x [M, K] bf16, w [N, K] bf16                  -> [M, N] bf16
 *   ops.llamaserve.block_int8(q)              q [N, K] int8 -> the same values blocked (below), [N, K] int8
 *   ops.llamaserve.quantize_int8(raw)         bf16 bits [N, 2K] uint8 -> (blocked q, scale [N] bf16), as to_int8
 *   ops.llamaserve.linear_int8(x, qb, scale)  x [M, K] bf16, qb [N, K] int8 blocked, scale [N] bf16 -> [M, N] bf16
 *   ops.llamaserve.linear_w8a8(x, qb, scale)  the same, the rows of x quantized to int8 per row (AVX-512 VNNI only)
 *   ops.llamaserve.w8a8_ready()               1 where linear_w8a8 can run: AVX-512 VNNI (BF16 or not), an ISA in use
 *   ops.llamaserve.widen_int8(qb, out)        qb blocked -> out [N, K] bf16, row-major (prefill: oneDNN's GEMM)
 *   ops.llamaserve.decode_attention(q, k_cache, v_cache, tables, pos, page_size)
 *                                             a query per row [B, NH, D], each against its paged bf16 K/V up to
 *                                             its position -> [B, NH, D] bf16 (llama_step.py's attend): decode
 *                                             rows, and prefill chunks' rows (in tiles: PREFILL_ATTENTION)
 *   ops.llamaserve.rms_norm(x, w, eps)        x [T, H] bf16, w [H] bf16 -> [T, H] bf16 (llama_step.py's rms_norm)
 *   ops.llamaserve.add_rms_norm(x, r, w, eps) the residual add before it too: -> (x + r, rms_norm(x + r)) [T, H] bf16
 *   ops.llamaserve.silu_mul(gate, up)         [T, I] bf16 -> silu(gate) * up [T, I] bf16, bit for bit torch's two ops
 *   ops.llamaserve.silu_ready()               1 where silu_mul can run (ATen's SLEEF exp found for the ISA in use)
 *   ops.llamaserve.argmax_rows(x, width)      x [R, V] bf16 or f32 -> [R] int64, each row's first greatest of its
 *                                             first width values, as the sampler's greedy argmax (NaN passed over)
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
 *   ops.llamaserve.avx512f(force)             whether AVX2's bf16 and int8 linears, rms_norm, silu_mul and rope_kv
 *                                             run on their 16-lane bodies (1: the default where the CPU has AVX-512
 *                                             F/BW/VL/DQ; Ice Lake servers) or the AVX2 ones (0);
 *                                             force 1 or 0 switches, -1 asks
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

/*
 * The kernels and the ops, in parts (llamaserve_ops/), included here in this order: each uses only what the top
 * of this file and the parts before it define. One translation unit, so that gcc sees every part at once, as it
 * did when they were one file (the same preprocessed code, function for function).
 */
#include "llamaserve_ops/linear_avx512.c"     /* AVX-512 BF16 linears, bf16 and int8, 1-4 rows and several */
#include "llamaserve_ops/linear_w8a8.c"       /* AVX-512 VNNI: W8A8 */
#include "llamaserve_ops/linear_amx.c"        /* AMX tiles */
#include "llamaserve_ops/linear_avx2.c"       /* AVX2 + FMA linears */
#include "llamaserve_ops/linear_avx512f.c"    /* AVX-512F: bf16 and int8 linears where AVX-512 has no BF16 */
#include "llamaserve_ops/linear_ops.c"        /* linear_*, block_int8, widen_int8, quantize_int8 */
#include "llamaserve_ops/attention.c"         /* decode_attention */
#include "llamaserve_ops/norm_silu_rope.c"    /* rms_norm, add_rms_norm, silu_mul, rope_kv */
#include "llamaserve_ops/decoder_layer.c"     /* decoder_layer(_int8) */
#include "llamaserve_ops/argmax.c"            /* argmax_rows */

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

/* stack: force -> whether ISA_AVX2's linears, norms, silu_mul and rope_kv run on their 16-lane bodies
   (linear512f_bf16, linear512f_int8; lanes16's); force 1 (only where the CPU has AVX-512 F/BW/VL/DQ) or 0
   switches, -1 asks */
static void avx512f_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    int64_t force = (int64_t) stack[0];
    if (force == 0 || force == 1) avx512f_linear = (int) force && avx512f_ready;
    stack[0] = (StableIValue) (int64_t) avx512f_linear;
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
    avx512f_ready = avx512f_linear = avx512f_detect();
    w8a8_ready = w8a8_detect();
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
    aoti_torch_library_def(def, "argmax_rows(Tensor x, int width) -> Tensor");
    aoti_torch_library_def(def, "w8a8_ready() -> int");
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
    aoti_torch_library_def(def, "avx512f(int force) -> int");
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
        aoti_torch_library_impl(cpu, "argmax_rows", argmax_rows_boxed);
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
        aoti_torch_library_impl(any, "w8a8_ready", w8a8_ready_boxed);
        aoti_torch_library_impl(any, "threads", threads_boxed);
        aoti_torch_library_impl(any, "amx", amx_boxed);
        aoti_torch_library_impl(any, "gemm_prefetch", gemm_prefetch_boxed);
        aoti_torch_library_impl(any, "gemm_apart", gemm_apart_boxed);
        aoti_torch_library_impl(any, "avx512f", avx512f_boxed);
    }
}
