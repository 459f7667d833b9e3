/* llamaserve_ops.c's part: the tensors' checks; the ops linear_bf16/int8/w8a8, block_int8, widen_int8, quantize_int8.
 * Included by llamaserve_ops.c, in its order (one translation unit), not compiled alone. */

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

/* whether a linear of this kind can run: an instruction set in use, and for W8A8 a CPU with AVX-512 VNNI */
static int kind_ready(const int kind) {
    return isa != ISA_NONE && (kind != LINEAR_W8A8 || w8a8_ready);
}

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
    void (*gemv)(const uint16_t*, const void*, const uint16_t*, uint16_t*, int64_t, int64_t, int64_t) =
            isa == ISA_AVX512_BF16 ? (q8 ? (M > 4 ? gemm512_int8 : M <= 2 && N % 4 == 0 ? few512_int8 : gemv512_int8)
                                         : (M > 4 && K % 32 == 0 ? gemm512_bf16 : M <= 4 ? few512_bf16 : gemv512_bf16))
                                   : (q8 ? (avx512f_linear ? linear512f_int8 : gemv256_int8)
                                         : avx512f_linear && K % 32 == 0 ? linear512f_bf16 : linear256_bf16);
    gemv(x, w, s, out, M, N, K);
    return 1;
}

static void linear_boxed(StableIValue* stack, int kind) {
    const int q8 = kind != LINEAR_BF16;
    AtenTensorHandle x = (AtenTensorHandle) (uintptr_t) stack[0];
    AtenTensorHandle w = (AtenTensorHandle) (uintptr_t) stack[1];
    AtenTensorHandle s = q8 ? (AtenTensorHandle) (uintptr_t) stack[2] : 0;
    int64_t M = 0, K = 0, N = 0, K2 = -1;
    int ok = kind_ready(kind)
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

/* as linear_int8, the rows of x quantized to int8 per row (gemm512_w8a8): without AVX-512 VNNI, refused as above */
static void linear_w8a8_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    linear_boxed(stack, LINEAR_W8A8);
}

/* stack: -> 1 where linear_w8a8 (and decoder_layer_int8 with w8a8) can run (kind_ready), else 0 */
static void w8a8_ready_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    stack[0] = (StableIValue) (int64_t) kind_ready(LINEAR_W8A8);
}

/* blocked int8 (see the top of llamaserve_ops.c) -> row-major bf16, 32 inputs of one channel at a time */
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
