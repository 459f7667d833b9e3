/* llamaserve_ops.c's part: decoder_layer(_int8): a decoder layer's ops in one call.
 * Included by llamaserve_ops.c, in its order (one translation unit), not compiled alone. */

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
    int ok = kind_ready(kind) && chunk > 0 && PS > 0
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
