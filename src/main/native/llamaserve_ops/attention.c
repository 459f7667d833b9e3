/* llamaserve_ops.c's part: decode_attention: a query per row against its paged bf16 K/V; prefill chunks in tiles.
 * Included by llamaserve_ops.c, in its order (one translation unit), not compiled alone. */

/* ---- decode attention: one query per sequence against its paged bf16 K/V ---- */

/*
 * e^x for softmax's shifted scores (x <= 0), float32 within ~2 ulp: 2^n * p(r), n = round(x / ln 2), r = x - n ln 2
 * (ln 2 in two parts), p Cephes' expf polynomial. Plain C without calls, so that `omp simd` loops vectorize it:
 * libm's expf is a call per score, which was the most of a decode step's attention (16 sequences x 1,024 tokens
 * of context: 8 million per step of the 1B shape). x below -87 (e^x under 2^-126) gives 2^-126-ish, not 0: a
 * softmax weight of that size adds nothing a float32 sum keeps; e^-inf (the first chunk's rescale) is such a 0.
 * The clamp looks at x's bits as unsigned, where the floats below -87 down to -inf are the range 0xc2ae0001 to
 * 0xff800000 (a negative float's bits grow with its magnitude): one unsigned compare made a mask, the same result
 * as x < -87 ? -87 : x for every one of the 2^32 inputs, NaNs included (checked). A compare that selects (the float
 * one, or this one with `?:`) left a branch in the loop that gcc vectorizes with AVX-512's masks but not in the AVX2
 * bodies (`control flow in loop`): their softmax ran a score at a time, 40 % of AVX2's prefill attention (perf,
 * harness).
 */
static inline float exp_nonpositive(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    const uint32_t below = 0u - (uint32_t) (u - 0xc2ae0001u <= 0xff800000u - 0xc2ae0001u);   /* all ones or 0 */
    u ^= (u ^ 0xc2ae0000u) & below;                                                        /* -87.0f's bits */
    memcpy(&x, &u, 4);
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
 * Work items of decode_attention512_tiled (below): a sequence and a group of its KV heads, walked chunk by chunk of
 * positions, each head of the group in turn, so that an item reads each position's keys and values of all its heads
 * together (1 KiB each at 8 KV heads x 64 dims: a page's keys are one sequential read), the first chunk prefetched into
 * L1 as the item starts (prefetch_kv), each later one into L2 while the chunk before it is attended, a head's share at
 * a time: its keys with the scores, its values as the values are weighted (attend_chunk512_ahead). A group is every
 * head of a sequence, unless the call has fewer sequences than threads: then a sequence's heads are split into groups
 * (a divisor of KVH) until every thread has an item; or unless the item's sums would not fit its ATT_ITEM_ACC floats (G
 * x ATT_MAX_D per head). Each head's arithmetic is the same, in the same order, whatever the grouping: a sequence's
 * outputs do not depend on how many sequences the call has. Items were one KV head each until this: each read 128 of
 * every 1,024 bytes from memory, a head at a time. Harness, the 1B shape's 16 layers (8 KV heads x 64) between its
 * linears, AMD EPYC Zen 5, 2 cores, attention per step, three rounds each, alternated: 16 sequences x 256 positions
 * 9.2-10.9 -> 6.7-8.7 ms, x 1,024 39.6-42.1 -> 26.0-30.1 ms; one sequence x 200 the same (36-49 us a layer); the same
 * outputs, bit for bit. The generic bodies (next) keep items of one KV head, bound by their arithmetic; AVX2's tiled
 * one takes these items in calls of 8 sequences or more (decode_attention256_tiled).
 * The next chunk was prefetched all at once as a chunk began (chunk_ahead: 2,048 prefetches at 128 positions of 8
 * heads), and a decode step's keys and values, which the weights streamed since the last step have pushed out of every
 * cache, came three to four times slower than from L2; spread over the scores, a step of 16 rows x 1,024 positions
 * attended in 26.2-28.5 ms instead of 38.2-39.5, and with the values' share moved to their own pass in 21.0-24.7
 * against 25.5-26.1 (src/test/native/attention_harness.c and the step's figures: docs/native-cpu-kernels.md, "Decode
 * attention: the next chunk's keys prefetched as the scores go").
 */
#define ATT_ITEM_ACC 8192
#define ATT_TILE_ACC 32768   /* PREFILL_ATTENTION's sums of a tile's rows, a thread's: 32 rows of 4 heads */
#define ATT_PAD 16            /* floats between arrays that would otherwise lie a multiple of 4 KiB apart (AttendFrame) */
#define ATT_TILE_KV (ATT_CHUNK * ATT_MAX_D)   /* a chunk's keys or values in a tiled body's form (tile_chunk512, 256) */
/* a thread's scratch of PREFILL_ATTENTION: its rows' sums, their queries in float32 (qf), a chunk's keys and values,
   ATT_PAD apart (each a multiple of 4 KiB long) */
#define ATT_TILE_SUMS (2 * ATT_TILE_ACC + 3 * ATT_PAD + 2 * ATT_TILE_KV)
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

/* the positions of the chunk after the one at t0, of len positions: 0 after the last */
static inline int64_t chunk_after(int64_t t0, int64_t len) {
    const int64_t left = len - t0 - ATT_CHUNK;
    return left <= 0 ? 0 : left < ATT_CHUNK ? left : ATT_CHUNK;
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
    const int64_t n1 = chunk_after(t0, len);
    if (n1 > 0) {
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

/*
 * qf [G][ATT_MAX_D] = qb [G, D] (bf16) in float32 times scale (not where qf is NULL: a body whose chunk function
 * reads qb), acc [G][ATT_MAX_D] = 0, m = -inf, l = 0
 */
static inline __attribute__((always_inline)) void attend_start(const uint16_t* qb, float qf[][ATT_MAX_D],
        float acc[][ATT_MAX_D], float* m, float* l, int64_t G, int64_t D, float scale) {
    for (int64_t g = 0; g < G; g++) {
        for (int64_t d = 0; d < D; d++) acc[g][d] = 0.0f;
        if (qf != NULL)
            for (int64_t d = 0; d < D; d++) qf[g][d] = bf16_to_f32(qb[g * D + d]) * scale;
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

/* the generic chunk function as the decode bodies call it (ahead, na: see attend_chunk256_ahead): it prefetches
   nothing, bound by its arithmetic */
static inline __attribute__((always_inline)) void attend_chunk_ahead(const uint16_t* qb, float qf[][ATT_MAX_D],
        const uint16_t* kc, const uint16_t* vc, const int64_t* row, int64_t n, float s[][ATT_CHUNK],
        float acc[][ATT_MAX_D], float* m, float* l, int64_t G, int64_t D, float scale, const int64_t* ahead,
        int64_t na) {
    (void) ahead;
    (void) na;
    attend_chunk(qb, qf, kc, vc, row, n, s, acc, m, l, G, D, scale);
}

/*
 * q [B, NH, D] bf16; k, v [S, KVH, D] bf16 caches; tables [B, P] int64 page tables; pos [B] int64, each query's
 * position (it sees the keys at positions 0..pos) -> out [B, NH, D] bf16: softmax(q k^T / sqrt(D)) v in float32,
 * as llama_step.py's attend computes it (head h reads KV head h / (NH / KVH)), one pass over the context. ATTEND
 * takes the next chunk's rows as well (ahead, na), to prefetch them as it goes (attend_chunk256_ahead; the generic
 * bodies prefetch nothing). The tiled one's were prefetched into L2 all at once as a chunk began (chunk_ahead, as
 * PREFILL_ATTENTION does): it had waited on its keys' loads (perf's samples) and its attention took 23-32 % less with
 * that at 1,024-8,192 positions, 5-9 % at 256 (Zen 4, in the step); AVX2's generic body took 2-10 % more with it.
 */
#define DECODE_ATTENTION(NAME, TARGET, ATTEND)                                                                 \
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
                                            D * 2, 0);                                                         \
                ATTEND(qb, f.qf, kc, vc, row, n, f.s, f.acc, m, l, G, D, scale, next, chunk_after(t0, len));   \
                row = next;                                                                                    \
            }                                                                                                  \
            attention_out(out + (b * NH + h * G) * D, f.acc, l, G, D);                                         \
        }                                                                                                      \
    }

DECODE_ATTENTION(decode_attention512, T512, attend_chunk_ahead)
DECODE_ATTENTION(decode_attention256, T256, attend_chunk_ahead)

/* a head-group item's arrays, as AttendFrame's (ATT_PAD apart): its heads' queries and sums, HPI x G rows each */
typedef struct {
    float qf[ATT_ITEM_ACC / ATT_MAX_D][ATT_MAX_D];   /* head j's G queries (float32, scaled) from row j G */
    float pad0[ATT_PAD];
    float acc[ATT_ITEM_ACC / ATT_MAX_D][ATT_MAX_D];  /* head j's G weighted sums from row j G */
    float pad1[2 * ATT_PAD];
    float s[ATT_MAX_G][ATT_CHUNK];                   /* the scores of the head being attended */
} __attribute__((aligned(64))) AttendGroup;

/*
 * The tiled decode bodies' walk over items of head groups (above: "Work items of decode_attention512_tiled"): each
 * item a sequence and HPI of its KV heads (attention_heads_per_item), each chunk's rows located once for the group,
 * the chunk attended a head at a time by ATTEND (head j's keys and values D further on in each row), which prefetches
 * head j's share of the next chunk. QF: whether ATTEND reads the queries in float32 (qf, made by attend_start) rather
 * than as bf16 (qb); FIRST_L1: whether the first chunk's keys and values of all the item's heads go into L1 as it
 * starts.
 */
#define GROUPED_DECODE_ATTENTION(NAME, TARGET, ATTEND, QF, FIRST_L1)                                            \
    TARGET static void NAME(const uint16_t* q, const uint16_t* kc, const uint16_t* vc, const int64_t* tables,  \
                            const int64_t* pos, uint16_t* out, int64_t B, int64_t NH, int64_t KVH, int64_t D,   \
                            int64_t P, int64_t PS) {                                                           \
        const int64_t G = NH / KVH;                                                                            \
        const float scale = 1.0f / sqrtf((float) D);                                                           \
        const int64_t HPI = attention_heads_per_item(B, KVH, G, omp_get_max_threads());                        \
        const int64_t groups = KVH / HPI;                                                                      \
        _Pragma("omp parallel for schedule(dynamic, 1)")                                                       \
        for (int64_t bg = 0; bg < B * groups; bg++) {                                                          \
            const int64_t b = bg / groups, h0 = bg % groups * HPI;                                             \
            AttendGroup f;                                                                                     \
            float m[ATT_ITEM_ACC / ATT_MAX_D], l[ATT_ITEM_ACC / ATT_MAX_D]; /* head j's G from j G */          \
            for (int64_t j = 0; j < HPI; j++)                                                                  \
                attend_start(q + (b * NH + (h0 + j) * G) * D, QF ? f.qf + j * G : NULL, f.acc + j * G,         \
                             m + j * G, l + j * G, G, D, scale);                                               \
            const int64_t len = pos[b] + 1;                                                                    \
            int64_t rows[2][ATT_CHUNK]; /* this chunk's rows (of head h0) and the next's */                    \
            int64_t* row = rows[0];                                                                            \
            const int64_t n0 = len < ATT_CHUNK ? len : ATT_CHUNK;                                              \
            chunk_rows(row, tables + b * P, 0, n0, PS, KVH, h0, D);                                            \
            if (FIRST_L1) prefetch_kv(kc, vc, row, n0, HPI * D * 2, 1);                                        \
            for (int64_t t0 = 0; t0 < len; t0 += ATT_CHUNK) {                                                  \
                const int64_t n = len - t0 < ATT_CHUNK ? len - t0 : ATT_CHUNK;                                 \
                int64_t* next = chunk_ahead(rows, row, tables + b * P, t0, len, PS, KVH, h0, D, kc, vc,        \
                                            HPI * D * 2, 0);                                                   \
                const int64_t na = chunk_after(t0, len);                                                       \
                for (int64_t j = 0; j < HPI; j++)                                                              \
                    ATTEND(q + (b * NH + (h0 + j) * G) * D, QF ? f.qf + j * G : NULL, kc + j * D, vc + j * D,  \
                           row, n, f.s, f.acc + j * G, m + j * G, l + j * G, G, D, scale, next, na);           \
                row = next;                                                                                    \
            }                                                                                                  \
            for (int64_t j = 0; j < HPI; j++)                                                                  \
                attention_out(out + (b * NH + (h0 + j) * G) * D, f.acc + j * G, l + j * G, G, D);              \
        }                                                                                                      \
    }

/*
 * The same on AVX2 where G % 4 == 0, D % 16 == 0 and D <= 128 (every Llama 3 model: 4 or more query heads per KV
 * head, a multiple of 4; head dim 64, the 1B's and the bench's shape, or 128, the 8B's and the 70B's), with the arithmetic in registers: two keys' scores for 4 heads as 8 accumulators
 * over their D inputs, each key's 4 added up across lanes together (three horizontal adds), the same keys' values
 * prefetched into L2 meanwhile, and the weighted sum of the values in tiles of 4 heads x 16 dims (8 registers) over
 * a chunk of keys, where the generic body reduced each score on its own and kept acc in memory. Its decode body's
 * items: one KV head, or a group of them in calls of 8 sequences or more (decode_attention256_tiled). Harness, 16 calls (a layer each) of the 1B shape's attention (32 heads over 8, D 64),
 * AMD EPYC Zen 5 with the AVX2 bodies forced, best of 3-5: 16 sequences x 256 positions 13.6-14.4 -> 5.8-6.0 ms,
 * x 1,024 85.5-88.2 -> 60.2-63.1, one sequence x 2,000 6.8-7.0 -> 2.6-2.8. At D 128 (the 8B) it was slower than the
 * generic body (16 x 512: 41-47 against 38-40 ms), hence D <= 64 then. qf and acc: 32-byte aligned.
 * Those harnesses were built with -march=native, under which gcc lets these target("avx2,fma") functions use
 * AVX-512: not the code a CPU without AVX-512 runs. Timed in the model instead (a later stop;
 * docs/native-cpu-kernels.md, "Those harness figures are not AVX2's"), this body decodes as fast as the generic one
 * or slower (its attention took up to 31 % longer at the 1B's D 64, 39 % at the 8B's D 128; on a Zen 4, whose L1 is
 * a Zen 3's 32 KiB, 50-60 % longer at D 64, 10-25 % once its next chunk was prefetched), while as PREFILL_ATTENTION's
 * chunk function it halves a prefill's attention. Decode kept it where D <= 64, so that a prefill row attends as the
 * decode row it would have been (what n choices and cache hits give the same bits by, on AVX2 too: "Timed on a Zen
 * 4" there), and D 128 kept the generic body and `attend`. All those timings had both bodies' softmax run a score at
 * a time (exp_nonpositive); vectorized, this body at D 128 attends in 30-40 % less time than the generic one (in the
 * step, AVX2 forced on a Zen 4, 16 rows x 1,024 of a 4-layer checkpoint with the 8B's heads, 16 over 4 of 128:
 * 13.3-15.6 -> 9.3 ms for its 4 layers), and a prefill through it beats `attend` (a 512-token chunk after 2,048:
 * 1.99-2.17 -> 1.86-1.91 s), hence D <= 128 (docs/native-cpu-kernels.md, "Prefill attention: a tile's chunk").
 * ahead (a decode body's calls; NULL from a prefill's tiles, attend_chunk256_tile): the na rows of the next chunk,
 * whose keys go into L2 two at a time with each two keys' scores, while the keys 8 positions on go into L1, where the next
 * chunk had been prefetched all at once as a chunk began (512 prefetches at 128 positions): in the step, 16 rows x
 * 1,024 positions attended in 40.1-44.6 ms instead of 73.9-78.2 (docs/native-cpu-kernels.md, as above).
 * kf and vf, where not NULL (a prefill tile's, tile_chunk256): the chunk's keys and values in float32, [n][D], read
 * in place of kc and vc: the same values, so the same products and sums, without widening them again for each row.
 */
T256 static inline __attribute__((always_inline)) void attend_chunk256_from(float qf[][ATT_MAX_D],
        const uint16_t* kc, const uint16_t* vc, const float* kf, const float* vf, const int64_t* row, int64_t n,
        float s[][ATT_CHUNK], float acc[][ATT_MAX_D], float* m, float* l, int64_t G, int64_t D,
        const int64_t* ahead, int64_t na) {
    for (int64_t i = 0; i < n; i += 2) {   /* scores: s[g][i] = q[g] . k[i], 4 heads x 2 keys at a time */
        const int64_t i1 = i + 1 < n ? i + 1 : i;   /* the last key twice where n is odd */
        const int64_t r0 = row[i], r1 = row[i1];
        const uint16_t* kr0 = kc + r0;
        const uint16_t* kr1 = kc + r1;
        if (vf == NULL)
            for (int64_t c = 0; c < D * 2; c += 64) {   /* the same keys' values, for the weighted sum below */
                _mm_prefetch((const char*) (vc + r0) + c, _MM_HINT_T1);
                _mm_prefetch((const char*) (vc + r1) + c, _MM_HINT_T1);
            }
        if (ahead != NULL) {   /* the keys 8 ahead into L1; the next chunk's keys at i and i + 1 into L2 */
            for (int64_t j = i + 8; j < i + 10 && j < n; j++)
                for (int64_t c = 0; c < D * 2; c += 64) _mm_prefetch((const char*) (kc + row[j]) + c, _MM_HINT_T0);
            for (int64_t j = i; j < i + 2 && j < na; j++)
                for (int64_t c = 0; c < D * 2; c += 64) _mm_prefetch((const char*) (kc + ahead[j]) + c, _MM_HINT_T1);
        }
        for (int64_t g0 = 0; g0 < G; g0 += 4) {
            __m256 a[2][4];
            for (int k = 0; k < 2; k++)
                for (int j = 0; j < 4; j++) a[k][j] = _mm256_setzero_ps();
            for (int64_t d = 0; d < D; d += 8) {
                const __m256 k0 = kf != NULL ? _mm256_loadu_ps(kf + i * D + d) : bf16x8_f32(kr0 + d);   /* [8] */
                const __m256 k1 = kf != NULL ? _mm256_loadu_ps(kf + i1 * D + d) : bf16x8_f32(kr1 + d);
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
                const __m256 v0 = vf != NULL ? _mm256_loadu_ps(vf + i * D + d0) : bf16x8_f32(vr);   /* [16] */
                const __m256 v1 = vf != NULL ? _mm256_loadu_ps(vf + i * D + d0 + 8) : bf16x8_f32(vr + 8);
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

T256 static inline __attribute__((always_inline)) void attend_chunk256_ahead(const uint16_t* qb,
        float qf[][ATT_MAX_D], const uint16_t* kc, const uint16_t* vc, const int64_t* row, int64_t n,
        float s[][ATT_CHUNK], float acc[][ATT_MAX_D], float* m, float* l, int64_t G, int64_t D, float scale,
        const int64_t* ahead, int64_t na) {
    (void) qb;
    (void) scale;
    attend_chunk256_from(qf, kc, vc, NULL, NULL, row, n, s, acc, m, l, G, D, ahead, na);
}

/*
 * A prefill tile's chunk of n keys and values for AVX2's tiled body, made once for all of the tile's rows
 * (PREFILL_ATTENTION's CHUNK; the keys and values lie at kc + row[i], vc + row[i]): both in float32, kf [n][D] in kt's
 * place, vf [n][D], so that each row's pass reads them without widening them again.
 */
T256 static inline __attribute__((always_inline)) void tile_chunk256(const uint16_t* kc, const uint16_t* vc,
        const int64_t* row, int64_t n, int64_t D, uint32_t* kt, float* vf) {
    float* kf = (float*) kt;
    for (int64_t i = 0; i < n; i++)
        for (int64_t d = 0; d < D; d += 8) {
            _mm256_storeu_ps(kf + i * D + d, bf16x8_f32(kc + row[i] + d));
            _mm256_storeu_ps(vf + i * D + d, bf16x8_f32(vc + row[i] + d));
        }
}

/*
 * The chunk functions that read the keys where they lie, as a prefill's tiles call them (PREFILL_ATTENTION: kt
 * and vf unused, tile_chunk_in_place its CHUNK): no prefetch of their own (its chunk_ahead prefetches)
 */
static inline __attribute__((always_inline)) void tile_chunk_in_place(const uint16_t* kc, const uint16_t* vc,
        const int64_t* row, int64_t n, int64_t D, uint32_t* kt, float* vf) {
    (void) kc;
    (void) vc;
    (void) row;
    (void) n;
    (void) D;
    (void) kt;
    (void) vf;
}

static inline __attribute__((always_inline)) void attend_chunk_tile(const uint16_t* qb, float qf[][ATT_MAX_D],
        const uint16_t* kc, const uint16_t* vc, const int64_t* row, int64_t n, float s[][ATT_CHUNK],
        float acc[][ATT_MAX_D], float* m, float* l, int64_t G, int64_t D, float scale, const uint32_t* kt,
        const float* vf) {
    (void) kt;
    (void) vf;
    attend_chunk(qb, qf, kc, vc, row, n, s, acc, m, l, G, D, scale);
}

/* AVX2's tiled chunk function as a prefill's tiles call it: on the chunk's keys and values in float32
   (tile_chunk256) */
T256 static inline __attribute__((always_inline)) void attend_chunk256_tile(const uint16_t* qb, float qf[][ATT_MAX_D],
        const uint16_t* kc, const uint16_t* vc, const int64_t* row, int64_t n, float s[][ATT_CHUNK],
        float acc[][ATT_MAX_D], float* m, float* l, int64_t G, int64_t D, float scale, const uint32_t* kt,
        const float* vf) {
    (void) qb;
    (void) scale;
    attend_chunk256_from(qf, kc, vc, (const float*) kt, vf, row, n, s, acc, m, l, G, D, NULL, 0);
}

/* AVX2's tiled decode body for calls of fewer than ATT_GROUPED_ROWS sequences: items of one KV head */
DECODE_ATTENTION(decode_attention256_heads, T256, attend_chunk256_ahead)

#define ATT_GROUPED_ROWS 8   /* sequences of a call from which AVX2's tiled decode body takes items of head groups */
/*
 * AVX2's tiled decode body for calls of ATT_GROUPED_ROWS sequences or more, in decode_attention512_tiled's work items
 * (GROUPED_DECODE_ATTENTION): a sequence and a group of its KV heads, each head's queries and sums in the item's
 * frame (AttendGroup), each chunk attended a head at a time by attend_chunk256_ahead, as DECODE_ATTENTION's items of
 * one head do: each head's
 * arithmetic in the same order, so the same outputs bit for bit, and a decode row still attends as the prefill row it
 * would have been. An item reads a position's keys (and values) of all its heads, 1 KiB at 8 KV heads x 64, as one
 * sequential read where items of one head read 128 of every 1,024 bytes. Ice Lake Xeon, 2 cores, harness
 * (attention_harness.c, keys and values pushed out of the caches first, as a decode step finds them), one layer,
 * medians, one-head items -> these: 16 sequences x 256 positions 1,136 -> 916-938 us, x 1,024 4,625 -> 3,379-3,733,
 * one sequence x 1,024 328 -> 292-299, x 4,000 1,094 -> 846-854, 4 x 512 592 -> 538-546; the 8B's heads (16 over
 * 4 of 128) 16 x 512 3,701 -> 3,048-3,158, one x 2,000 921 -> 813-815; 16 x 32 the same (200 us); the first chunk
 * prefetched into L2 as an item starts or not, the same. In the model (w8a8-lm-head's step, the KV pool pre-touched,
 * the two bodies switched every step in one process, medians of 15): 16 rows x 1,024 positions 132.4 -> 121.9 ms a
 * step, 2 x 2,048 75.2 -> 73.0, 4 x 1,024 90.0 -> 88.5, 16 x 256 the same within the VM's noise (90.5 against 91.5,
 * 127.0 against 130.3). But on an AMD EPYC Zen 4 (an earlier stop, in the model, alternated every 5 steps) these
 * items made 2 x 8,192 slower in all five windows (78.4-91.3 against 74.1-79.4 ms) and 16 x 1,024 neither (75.5-95.5
 * against 77.1-89.1), and a Zen 5's harness had 1 x 1,024 10 % slower: so calls of fewer sequences keep items of one
 * head (decode_attention256_heads), where this CPU gained least.
 */
GROUPED_DECODE_ATTENTION(decode_attention256_tiled, T256, attend_chunk256_ahead, 1, 0)

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

/*
 * AVX-512 BF16's second half of a chunk, after its scores s: the online softmax (softmax_chunk), then acc += s v in
 * tiles of 4 heads x 64 dims held in 16 registers over the chunk's n keys. ahead, where not NULL: the na rows of the
 * next chunk (na <= n), whose values (from vc) are prefetched into L2 a row at a time in the first tile's pass.
 */
T512 static inline __attribute__((always_inline)) void weigh_values512(const uint16_t* vc, const int64_t* row,
        int64_t n, float s[][ATT_CHUNK], float acc[][ATT_MAX_D], float* m, float* l, int64_t G, int64_t D,
        const int64_t* ahead, int64_t na) {
    softmax_chunk(s, acc, m, l, G, n, D);
    for (int64_t g0 = 0; g0 < G; g0 += 4) {                                   /* acc += s v, 4 heads x 64 dims */
        for (int64_t d0 = 0; d0 < D; d0 += 64) {
            const int64_t nv = ahead != NULL && g0 == 0 && d0 == 0 ? na : 0;   /* the next values, in the first pass */
            __m512 r[4][4];
            for (int g = 0; g < 4; g++)
                for (int k = 0; k < 4; k++) r[g][k] = _mm512_loadu_ps(&acc[g0 + g][d0 + 16 * k]);
            for (int64_t i = 0; i < n; i++) {
                const uint16_t* vr = vc + row[i] + d0;
                if (i < nv)
                    for (int64_t c = 0; c < D * 2; c += 64) prefetch_next((const char*) (vc + ahead[i]) + c, 0);
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

/*
 * AVX-512 BF16's chunk function, the decode bodies' (qf unused: the scores are bf16 dot products of qb and the keys,
 * 16 keys at a time, summed across lanes by sum16), then weigh_values512. ahead, where not NULL: the na rows of the
 * next chunk (na <= n), whose keys of this head (D * 2 bytes each, from kc) are prefetched into L2 16 rows at a time
 * as the scores of 16 keys are taken, and whose values as the values are weighted, so that the reads spread over
 * the arithmetic.
 */
T512 static inline __attribute__((always_inline)) void attend_chunk512_ahead(const uint16_t* qb,
        float qf[][ATT_MAX_D], const uint16_t* kc, const uint16_t* vc, const int64_t* row, int64_t n,
        float s[][ATT_CHUNK], float acc[][ATT_MAX_D], float* m, float* l, int64_t G, int64_t D, float scale,
        const int64_t* ahead, int64_t na) {
    (void) qf;
    static const uint16_t zeros[ATT_MAX_D] = {0};   /* the keys past a chunk's end in its last group of 16 */
    for (int64_t i0 = 0; i0 < n; i0 += 16) {                                  /* scores s[g][i0 .. i0+15] */
        const uint16_t* kr[16];
        for (int i = 0; i < 16; i++) kr[i] = i0 + i < n ? kc + row[i0 + i] : zeros;
        if (ahead != NULL)
            for (int64_t i = i0; i < i0 + 16 && i < na; i++)
                for (int64_t c = 0; c < D * 2; c += 64) prefetch_next((const char*) (kc + ahead[i]) + c, 0);
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
    weigh_values512(vc, row, n, s, acc, m, l, G, D, ahead, na);
}

/*
 * A prefill tile's chunk of n keys for AVX-512's tiled body, made once for all of the tile's rows (PREFILL_ATTENTION's
 * CHUNK; the keys lie at kc + row[i]): kt [ceil(n / 16)][D / 2][16] dwords, the keys transposed, dims 2p and 2p + 1
 * of key i0 + i at [i0 / 16][p][i] (the keys past n in the last group of 16 zeros). The values stay where they lie
 * (vf unused): widened to float32 here as well, the tiles took as long (harness, Zen 4; slower on a Zen 5 before the
 * keys were transposed: docs/native-cpu-kernels.md, "Prefill attention").
 */
T512 static inline __attribute__((always_inline)) void tile_chunk512(const uint16_t* kc, const uint16_t* vc,
        const int64_t* row, int64_t n, int64_t D, uint32_t* kt, float* vf) {
    for (int64_t i0 = 0; i0 < n; i0 += 16) {
        uint32_t* kg = kt + i0 * (D / 2);   /* group i0 / 16: D / 2 x 16 dwords */
        for (int64_t c = 0; c < D; c += 32) {   /* dims c .. c + 31 of the 16 keys: pairs c / 2 .. c / 2 + 15 */
            __m512i r[16];
            for (int i = 0; i < 16; i++)
                r[i] = i0 + i < n ? _mm512_loadu_si512(kc + row[i0 + i] + c) : _mm512_setzero_si512();
            transpose16_regs(r);
            for (int p = 0; p < 16; p++) _mm512_storeu_si512(kg + (c / 2 + p) * 16, r[p]);
        }
    }
    (void) vc;
    (void) vf;
}

/*
 * AVX-512 BF16's chunk function as a prefill's tiles call it: the scores from the chunk's keys transposed (kt, by
 * tile_chunk512), then weigh_values512, the decode bodies' second half. A lane holds a key, so that a dot product
 * needs no sum across lanes: accumulator l (0-15) of 4 heads takes pairs p = l, l + 16, ... (one dword of kt, times a
 * query's dword p broadcast), which is lane l of the decode body's a[i] for key i, in the same order; then the 16
 * accumulators are added as sum16 adds lane l of a[i]: ((0 + 2) + (1 + 3)) within each group of 4, then
 * (S0 + S1) + (S2 + S3). The scores are the decode body's bits (aPrefillsRowsAttendInTilesToTheSameBitsAsEachRowAlone),
 * without its sum16 (46 shuffles and adds per head and 16 keys) and with each key read once per 4 heads, not per head.
 */
T512 static inline __attribute__((always_inline)) void attend_chunk512_tile(const uint16_t* qb, float qf[][ATT_MAX_D],
        const uint16_t* kc, const uint16_t* vc, const int64_t* row, int64_t n, float s[][ATT_CHUNK],
        float acc[][ATT_MAX_D], float* m, float* l, int64_t G, int64_t D, float scale, const uint32_t* kt,
        const float* vf) {
    (void) qf;
    (void) kc;
    (void) vf;
    const int64_t P = D / 2;
    for (int64_t i0 = 0; i0 < n; i0 += 16) {                                  /* scores s[g][i0 .. i0+15] */
        const uint32_t* kg = kt + i0 * P;
        for (int64_t g0 = 0; g0 < G; g0 += 4) {
            const uint16_t* q = qb + g0 * D;
            __m512 low[4], high[4];   /* head g0 + h's S0 + S1 and S2 + S3 */
            for (int mq = 0; mq < 4; mq++) {   /* S_mq: accumulators 4 mq .. 4 mq + 3 */
                __m512 a[4][4];                /* [head][accumulator] */
                for (int h = 0; h < 4; h++)
                    for (int j = 0; j < 4; j++) a[h][j] = _mm512_setzero_ps();
                for (int64_t c = 0; c < P; c += 16)
                    for (int j = 0; j < 4; j++) {
                        const int64_t p = c + 4 * mq + j;
                        const __m512bh k = (__m512bh) _mm512_loadu_si512(kg + p * 16);   /* [16 keys] x pair p */
                        for (int h = 0; h < 4; h++) {
                            uint32_t w;
                            memcpy(&w, q + h * D + 2 * p, 4);
                            a[h][j] = _mm512_dpbf16_ps(a[h][j], k, (__m512bh) _mm512_set1_epi32((int) w));
                        }
                    }
                for (int h = 0; h < 4; h++) {
                    const __m512 sq = _mm512_add_ps(_mm512_add_ps(a[h][0], a[h][2]), _mm512_add_ps(a[h][1], a[h][3]));
                    if (mq == 0) low[h] = sq;
                    else if (mq == 1) low[h] = _mm512_add_ps(low[h], sq);
                    else if (mq == 2) high[h] = sq;
                    else high[h] = _mm512_add_ps(high[h], sq);
                }
            }
            for (int h = 0; h < 4; h++)
                _mm512_storeu_ps(&s[g0 + h][i0], _mm512_mul_ps(_mm512_add_ps(low[h], high[h]), _mm512_set1_ps(scale)));
        }
    }
    weigh_values512(vc, row, n, s, acc, m, l, G, D, NULL, 0);
}

/* AVX-512 BF16's tiled decode body: items of head groups, the queries read as bf16, the first chunk into L1 */
GROUPED_DECODE_ATTENTION(decode_attention512_tiled, T512, attend_chunk512_ahead, 0, 1)

/*
 * A prefill's rows: consecutive rows of one sequence (rows whose tables agree on every page a row reads), each a
 * query at its own position. The decode bodies take each row as its own item, which reads all of the sequence's
 * keys and values up to its position again: AVX-512's, 256 rows after 30,720 positions (the 8B's heads, 128 dims),
 * ran at 6.6 ns a query-key-head pair from memory, against 2.6 for 2,048 rows from position 0. Here an item is a
 * tile of up to ATT_TILE_ACC / (G x ATT_MAX_D) such rows (32 at 4 query heads per KV head) and one KV head: each
 * chunk of keys and values is read once for the tile (the next one prefetched into L2 meanwhile), and each of its
 * rows runs it through the chunk function ATTEND with its own n (the causal mask: a row reads up to its position).
 * CHUNK first makes the chunk's keys and values into the form the tiled bodies' ATTEND reads, once for all the tile's
 * rows (kt, vf: AVX-512's keys transposed, tile_chunk512; AVX2's keys and values in float32, tile_chunk256); the
 * generic body reads them where they lie. Each ATTEND gives its decode body's arithmetic in its order: every output
 * is the same bits as the decode body's, whatever tile its row falls in. The tiles of the longest rows go first,
 * since later rows have more keys. sums: ATT_TILE_SUMS floats a thread, 64-byte aligned (decode_attention_run's
 * SCRATCH_ATTENTION): the tile's rows' acc, then their qf, then kt and vf.
 */
#define PREFILL_ATTENTION(NAME, TARGET, CHUNK, ATTEND)                                                         \
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
            uint32_t* kt = (uint32_t*) (mine + 2 * ATT_TILE_ACC + 2 * ATT_PAD);                                \
            float* vf = mine + 2 * ATT_TILE_ACC + 3 * ATT_PAD + ATT_TILE_KV;                                   \
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
                CHUNK(kc, vc, row, len - t0 < ATT_CHUNK ? len - t0 : ATT_CHUNK, D, kt, vf);                    \
                for (int64_t j = 0; j < nq; j++) {                                                             \
                    const int64_t lj = pos[b0 + j] + 1;                                                        \
                    if (lj <= t0) continue;                                                                    \
                    ATTEND(q + ((b0 + j) * NH + h * G) * D, qfs + j * G, kc, vc, row,                          \
                           lj - t0 < ATT_CHUNK ? lj - t0 : ATT_CHUNK, s, accs + j * G, ms + j * G, ls + j * G, G, D, \
                           scale, kt, vf);                                                                     \
                }                                                                                              \
                row = next;                                                                                    \
            }                                                                                                  \
            for (int64_t j = 0; j < nq; j++)                                                                   \
                attention_out(out + ((b0 + j) * NH + h * G) * D, accs + j * G, ls + j * G, G, D);               \
        }                                                                                                      \
    }

PREFILL_ATTENTION(prefill_attention512_tiled, T512, tile_chunk512, attend_chunk512_tile)
PREFILL_ATTENTION(prefill_attention512, T512, tile_chunk_in_place, attend_chunk_tile)
PREFILL_ATTENTION(prefill_attention256_tiled, T256, tile_chunk256, attend_chunk256_tile)
PREFILL_ATTENTION(prefill_attention256, T256, tile_chunk_in_place, attend_chunk_tile)

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
 * (AVX-512 BF16: G % 4 == 0 and D % 64 == 0; AVX2: G % 4 == 0, D % 16 == 0 and D <= 128), 1 the generic one, 0 none
 * (no ISA, or past ATT_MAX_G / ATT_MAX_D). decode_attention_run picks by it, and the loads ask it (attention_body)
 * whether the kernel attends and up to which context prefill chunks do: the rule lives here alone.
 */
static int attention_body(int64_t G, int64_t D) {
    if (isa == ISA_NONE || G < 1 || G > ATT_MAX_G || D < 1 || D > ATT_MAX_D) return 0;
    const int tiled = isa == ISA_AVX512_BF16 ? G % 4 == 0 && D % 64 == 0 : G % 4 == 0 && D % 16 == 0 && D <= 128;
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
           page by page in every layer (512 KiB a thread) */
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
                            : (tiled ? (B >= ATT_GROUPED_ROWS ? decode_attention256_tiled : decode_attention256_heads)
                                     : decode_attention256))(
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
