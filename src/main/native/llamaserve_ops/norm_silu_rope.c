/* llamaserve_ops.c's part: rms_norm, add_rms_norm, silu_mul, rope_kv.
 * Included by llamaserve_ops.c, in its order (one translation unit), not compiled alone. */

/*
 * Whether the 16-lane bodies below run (rms_norm_row512, silu_mul512, rope_heads512: AVX-512 F/BW/VL/DQ, no BF16
 * instruction): with AVX-512 BF16 in use, and with AVX2 where its AVX-512F bodies are on (avx512f_linear, the default
 * where the CPU has AVX-512F: Ice Lake servers). Else the 8-lane ones (AVX2).
 */
static int lanes16(void) {
    return isa == ISA_AVX512_BF16 || (isa == ISA_AVX2 && avx512f_linear);
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

T512B static void rms_norm_row512(const uint16_t* x, const uint16_t* r, const uint16_t* w, uint16_t* sum,
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

/*
 * rms_norm_row512's arithmetic 8 lanes at a time (H % 8 == 0; AVX2 with its 16-lane bodies off, or H % 16 != 0),
 * its sum of squares in 8 partial sums added up by hsum256: another order again, the same for every row. The scalar
 * body ran
 * the AVX2 CPUs' norms (all of them, for every H): add_rms_norm took 1.95 ms of a decode step of 16 rows of the 1B
 * shape (32 calls of 16 x 2,048), this body 0.84 (Ice Lake Xeon, 2 cores, libtorch's profiler, StepProfileBenchmark).
 */
T256 static void rms_norm_row256(const uint16_t* x, const uint16_t* r, const uint16_t* w, uint16_t* sum,
                                 uint16_t* out, int64_t H, float eps) {
    __m256 sq = _mm256_setzero_ps();
    for (int64_t i = 0; i < H; i += 8) {
        __m256 v = bf16x8_f32(x + i);
        if (r != NULL) {   /* s = bf16(x + r), kept as the step's new residual stream */
            const __m256i s = round_bf16x8(_mm256_add_ps(v, bf16x8_f32(r + i)));
            store_bf16x8(sum + i, s);
            v = _mm256_castsi256_ps(s);
        }
        sq = _mm256_fmadd_ps(v, v, sq);
    }
    const float inv = 1.0f / sqrtf(hsum256(sq) / (float) H + eps);
    const uint16_t* s = r != NULL ? sum : x;
    for (int64_t i = 0; i < H; i += 8) {
        const __m256 n = _mm256_castsi256_ps(round_bf16x8(_mm256_mul_ps(bf16x8_f32(s + i), _mm256_set1_ps(inv))));
        store_bf16x8(out + i, round_bf16x8(_mm256_mul_ps(bf16x8_f32(w + i), n)));
    }
}

static void rms_norm_rows(const uint16_t* x, const uint16_t* r, const uint16_t* w, uint16_t* sum, uint16_t* out,
                          int64_t T, int64_t H, float eps) {
    void (*row)(const uint16_t*, const uint16_t*, const uint16_t*, uint16_t*, uint16_t*, int64_t, float) =
            lanes16() && H % 16 == 0        ? rms_norm_row512
            : isa != ISA_NONE && H % 8 == 0 ? rms_norm_row256
                                            : rms_norm_row;
    /* on one thread below 8,192 elements (the vector bodies; 2,048 scalar): 4 rows of 2,048 took as long on one as
       on two (AVX-512) */
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
 * missing the op answers [0, 0] and silu_ready 0, and the step keeps torch's two ops). Which exp a tail element
 * takes does not show: for every one of the 65,536 bf16 inputs, x / (1 + exp(-x)) rounds to the same bf16 with
 * SLEEF's exp as with glibc's expf (checked against libtorch 2.7.1's SLEEF, a kernel harness). With ISA_AVX2 the
 * 16-lane body runs where the CPU has AVX-512F and its AVX-512F bodies are on (avx512f_linear: Ice Lake servers,
 * whose ATen runs AVX-512 while these kernels run AVX2): SLEEF's 8- and 16-lane exp give the same bits, and so do
 * both bodies. Ice Lake Xeon, two cores, 16 rows x 8,192 (a 16-row step's call, 16 a step): 157 us on 8 lanes, 83
 * on 16 (harness, the same outputs). Rows of a step are elementwise, so a row's values do not depend on the rows
 * beside it.
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

/* whether silu_mul runs 16 lanes wide (silu_mul512) rather than 8 (silu_mul256) */
static int silu_wide(void) {
    return sleef_exp16 != NULL && lanes16();
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

/* 16 lanes, AVX-512 F/BW/VL/DQ (no BF16 instructions): the same bits as silu_mul256 */
T512B static void silu_mul512(const uint16_t* g, const uint16_t* u, uint16_t* out, int64_t i0, int64_t i1) {
    const exp16_fn e = (exp16_fn) sleef_exp16;
    for (int64_t i = i0; i < i1; i += 16) {
        const __m512 x = bf16x16_f32(g + i);
        const __m512 sx = _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e(_mm512_xor_ps(x, _mm512_set1_ps(-0.0f)))));
        const __m512 y = _mm512_mul_ps(_mm512_castsi512_ps(round_bf16x16(sx)), bf16x16_f32(u + i));
        _mm256_storeu_si256((__m256i*) (out + i), f32x16_bf16(y));
    }
}

/* silu_times on 8 at once: the silu rounded to bf16, times up, the product rounded; the same bits */
T256 static void silu_mul256(const uint16_t* g, const uint16_t* u, uint16_t* out, int64_t i0, int64_t i1) {
    const exp8_fn e = (exp8_fn) sleef_exp8;
    for (int64_t i = i0; i < i1; i += 8) {
        const __m256 x = bf16x8_f32(g + i);
        const __m256 sx = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e(_mm256_xor_ps(x, _mm256_set1_ps(-0.0f)))));
        store_bf16x8(out + i, round_bf16x8(_mm256_mul_ps(_mm256_castsi256_ps(round_bf16x8(sx)), bf16x8_f32(u + i))));
    }
}

static void silu_mul(const uint16_t* g, const uint16_t* u, uint16_t* out, int64_t n, int64_t chunk) {
    const int64_t v = n - n % chunk;   /* the vector part, in blocks of 1,024 (a multiple of chunk) */
    const int wide = silu_wide();
    /* on every thread from 4,096 elements: one row of 8,192 took 5.0-6.2 us on two cores, 7.2-8.2 on one (harness) */
#pragma omp parallel for schedule(static) if (n >= 4096)
    for (int64_t i0 = 0; i0 < v; i0 += 1024) {
        const int64_t i1 = v - i0 < 1024 ? v : i0 + 1024;
        if (wide) silu_mul512(g, u, out, i0, i1);
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
T512B static void rope_heads512(const uint16_t* x, const uint16_t* cs, const uint16_t* sn, uint16_t* out,
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

/* rope_heads, 8 inputs at a time (D % 16 == 0; AVX2 with its 16-lane bodies off, or D % 32 != 0): the same bits */
T256 static void rope_heads256(const uint16_t* x, const uint16_t* cs, const uint16_t* sn, uint16_t* out,
                               int64_t heads, int64_t D) {
    const int64_t half = D / 2;
    const __m256 neg = _mm256_set1_ps(-0.0f);
    for (int64_t h = 0; h < heads; h++) {
        const uint16_t* r = x + h * D;
        for (int64_t d = 0; d < D; d += 8) {
            const __m256 rot = d < half ? _mm256_xor_ps(bf16x8_f32(r + d + half), neg) : bf16x8_f32(r + d - half);
            const __m256 a = _mm256_castsi256_ps(round_bf16x8(_mm256_mul_ps(bf16x8_f32(r + d), bf16x8_f32(cs + d))));
            const __m256 b = _mm256_castsi256_ps(round_bf16x8(_mm256_mul_ps(rot, bf16x8_f32(sn + d))));
            store_bf16x8(out + h * D + d, round_bf16x8(_mm256_add_ps(a, b)));
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
            lanes16() && D % 32 == 0         ? rope_heads512
            : isa != ISA_NONE && D % 16 == 0 ? rope_heads256
                                             : rope_heads;
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
