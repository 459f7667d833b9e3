/* llamaserve_ops.c's part: argmax_rows, the next tokens of a step whose rows all decode greedily.
 * Included by llamaserve_ops.c, in its order (one translation unit), not compiled alone. */

/*
 * The id of the greatest of a row's first n logits as the sampler's greedy argmax picks it (Sampler.argmax: a
 * loop from x[0] that replaces only on strictly greater): equal values keep the lowest id, -0 equals +0, a NaN is
 * never greater and so is passed over, except at 0, where the loop's first value, a NaN, is never beaten (id 0).
 * 8 lanes, lane l the first greatest of ids l, l + 8, ... (from -inf, at id l), then the lowest id among the lanes
 * holding the greatest value, then the ids past the last whole 8 one at a time (above every lane's). Each row is
 * read once (128,256 bf16: 256 KiB), a row per thread. The 16 rows of a 16-stream step of the 1B shape, Ice Lake
 * Xeon, 2 cores (libtorch's profiler): 0.09 ms here, 3.3 ms in torch.argmax (ATen's reduction with an index takes a
 * value at a time), and 1-1.8 ms in the sampler's Java loop, after the rows' 8 MiB were widened and copied out.
 */
#define ARGMAX_ROW(NAME, TYPE, LOAD8, VALUE)                                                                    \
    T256 static int64_t NAME(const TYPE* x, int64_t n) {                                                       \
        if (VALUE(x[0]) != VALUE(x[0])) return 0;                                                              \
        const int64_t n8 = n - n % 8;                                                                          \
        __m256 best = _mm256_set1_ps(-INFINITY);                                                               \
        __m256i at = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);                                                \
        __m256i ids = at;                                                                                      \
        const __m256i eight = _mm256_set1_epi32(8);                                                            \
        for (int64_t i = 0; i < n8; i += 8) {                                                                  \
            const __m256 v = LOAD8(x + i);                                                   /* [8] */         \
            const __m256 gt = _mm256_cmp_ps(v, best, _CMP_GT_OQ);                           /* NaN: false */  \
            best = _mm256_blendv_ps(best, v, gt);                                                              \
            at = _mm256_blendv_epi8(at, ids, _mm256_castps_si256(gt));                                         \
            ids = _mm256_add_epi32(ids, eight);                                                                \
        }                                                                                                      \
        float lanes[8];                                                                                        \
        int32_t lane_at[8];                                                                                    \
        _mm256_storeu_ps(lanes, best);                                                                         \
        _mm256_storeu_si256((__m256i*) lane_at, at);                                                           \
        float bv = lanes[0];                                                                                   \
        int64_t b = lane_at[0];                                                                                \
        for (int l = 1; l < 8; l++)                                                                            \
            if (lanes[l] > bv || (lanes[l] == bv && lane_at[l] < b)) bv = lanes[l], b = lane_at[l];            \
        if (n8 == 0) bv = VALUE(x[0]), b = 0;                                                                  \
        for (int64_t i = n8 == 0 ? 1 : n8; i < n; i++)                                                         \
            if (VALUE(x[i]) > bv) bv = VALUE(x[i]), b = i;                                                     \
        return b;                                                                                              \
    }

T256 static inline __m256 f32x8(const float* p) {
    return _mm256_loadu_ps(p);
}

static inline float f32_value(float v) {
    return v;
}

ARGMAX_ROW(argmax_row_bf16, uint16_t, bf16x8_f32, bf16_to_f32)
ARGMAX_ROW(argmax_row_f32, float, f32x8, f32_value)

/*
 * stack: x [R, V] bf16 or float32 (contiguous), width (1 <= width <= V) -> [R] int64, each row's argmax over its
 * first width values (argmax_row_*); [0] where the kernel cannot take the call (no ISA, another dtype or layout)
 */
static void argmax_rows_boxed(StableIValue* stack, uint64_t num_args, uint64_t num_outputs) {
    (void) num_args;
    (void) num_outputs;
    AtenTensorHandle x = (AtenTensorHandle) (uintptr_t) stack[0];
    const int64_t width = (int64_t) stack[1];
    int64_t R = 0, V = 0;
    const int32_t dt = (int32_t) dtype(x);
    const int bf = dt == aoti_torch_dtype_bfloat16();
    const int ok = isa != ISA_NONE && matrix(x, &R, &V) && width >= 1 && width <= V
                   && (bf || dt == aoti_torch_dtype_float32());
    const int64_t sizes[1] = {ok ? R : 0};
    AtenTensorHandle out = empty(1, sizes, aoti_torch_dtype_int64());
    if (ok && R > 0) {
        void *xp = 0, *op = 0;
        aoti_torch_get_data_ptr(x, &xp);
        aoti_torch_get_data_ptr(out, &op);
        int64_t* ids = (int64_t*) op;
#pragma omp parallel for schedule(static) if (R > 1)
        for (int64_t r = 0; r < R; r++)
            ids[r] = bf ? argmax_row_bf16((const uint16_t*) xp + r * V, width)
                        : argmax_row_f32((const float*) xp + r * V, width);
    }
    aoti_torch_delete_tensor_object(x);
    stack[0] = (StableIValue) (uintptr_t) out;
}
