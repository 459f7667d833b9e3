  # appended to llama_step.py's class where llama-serve's native kernels are loaded (NativeKernels,
  # src/main/native/llamaserve_ops.c); int8 weights are then kept blocked (block_int8) for linear_int8
  def native_bf16(self: __torch__.LlamaForCausalLM, x: Tensor, w: Tensor) -> Tensor:
    # x: [T, in] bf16; w: [out, in] bf16 -> [T, out] (float32 sums, rounded to bf16)
    return ops.llamaserve.linear_bf16(x, w)
  def native_int8(self: __torch__.LlamaForCausalLM, x: Tensor, qb: Tensor, scale: Tensor) -> Tensor:
    # x: [T, in] bf16; qb: [out, in] int8 blocked; scale: [out] bf16 -> [T, out] = (x @ q^T) * scale
    return ops.llamaserve.linear_int8(x, qb, scale)
  def native_w8a8(self: __torch__.LlamaForCausalLM, x: Tensor, qb: Tensor, scale: Tensor) -> Tensor:
    # as native_int8, each row of x quantized to int8 with its own scale (absmax / 127) first: exact int32 sums
    return ops.llamaserve.linear_w8a8(x, qb, scale)
  def native_block_int8(self: __torch__.LlamaForCausalLM, q: Tensor) -> Tensor:
    # q: [out, in] int8 row-major -> [out, in] int8 blocked (4 channels x 32 inputs together)
    return ops.llamaserve.block_int8(q)
  def native_quantize_int8(self: __torch__.LlamaForCausalLM, raw: Tensor) -> List[Tensor]:
    # raw: [out, in * 2] uint8, bf16 bits -> [q: [out, in] int8 blocked, scale: [out] bf16], what to_int8 and
    # native_block_int8 give, in one pass without a float32 copy
    r = ops.llamaserve.quantize_int8(raw)
    return [r[0], r[1]]
  def native_widen_int8(self: __torch__.LlamaForCausalLM, qb: Tensor, scratch: Tensor) -> Tensor:
    # qb: [out, in] int8 blocked; scratch: [S >= out * in] bf16 -> [out, in] bf16 row-major (exact), in scratch
    out = torch.view(torch.narrow(scratch, 0, 0, qb.numel()), [qb.size(0), qb.size(1)])   # [out, in]
    return ops.llamaserve.widen_int8(qb, out)
  def native_decode_attention(self: __torch__.LlamaForCausalLM, q: Tensor, k_cache: Tensor, v_cache: Tensor,
                              tables: Tensor, pos: Tensor, page_size: int) -> Tensor:
    # q: [Bd, NH, D] bf16, one query per sequence; k_cache, v_cache: [S, KVH, D] bf16; tables: [Bd, P] int64;
    # pos: [Bd] int64 -> [Bd, NH, D] bf16: as attend, over the keys at positions 0..pos, one pass
    return ops.llamaserve.decode_attention(q, k_cache, v_cache, tables, pos, page_size)
  def native_rms_norm(self: __torch__.LlamaForCausalLM, x: Tensor, weight: Tensor, eps: float) -> Tensor:
    # x: [T, H] bf16; weight: [H] bf16 -> [T, H] bf16, as rms_norm, in one call
    return ops.llamaserve.rms_norm(x, weight, eps)
  def native_add_rms_norm(self: __torch__.LlamaForCausalLM, x: Tensor, r: Tensor, weight: Tensor, eps: float) -> List[Tensor]:
    # x, r: [T, H] bf16; weight: [H] bf16 -> [x + r, rms_norm(x + r)] [T, H] bf16, as add_rms_norm, in one call
    s = ops.llamaserve.add_rms_norm(x, r, weight, eps)
    return [s[0], s[1]]
  def native_silu_mul(self: __torch__.LlamaForCausalLM, gate: Tensor, up: Tensor) -> Tensor:
    # gate, up: [T, I] bf16 -> silu(gate) * up [T, I] bf16, bit for bit torch's two ops, in one call
    return ops.llamaserve.silu_mul(gate, up)
  def native_argmax_rows(self: __torch__.LlamaForCausalLM, x: Tensor, width: int) -> Tensor:
    # x: [R, V] bf16 or f32 -> [R] int64, each row's first greatest of its first width values (NaN passed over)
    return ops.llamaserve.argmax_rows(x, width)
  def native_silu_ready(self: __torch__.LlamaForCausalLM) -> bool:
    # whether native_silu_mul can run with the instruction set in use (it calls the SLEEF exp ATen's silu calls)
    return ops.llamaserve.silu_ready() == 1
  def native_rope_kv(self: __torch__.LlamaForCausalLM, q: Tensor, k: Tensor, v: Tensor, cos: Tensor, sin: Tensor,
                     k_cache: Tensor, v_cache: Tensor, slot_mapping: Tensor) -> Tensor:
    # q: [T, NH, D], k, v: [T, KVH, D], cos, sin: [T, 1, D], k_cache, v_cache: [S, KVH, D] (bf16); slot_mapping: [T]
    # -> q rotated [T, NH, D]; k rotated into k_cache[slot_mapping], v into v_cache[slot_mapping] (rope_kv's script
    # path, bit-identical, in one call)
    return ops.llamaserve.rope_kv(q, k, v, cos, sin, k_cache, v_cache, slot_mapping)
  def native_decoder_layer(self: __torch__.LlamaForCausalLM, x: Tensor, r: Tensor, lw: List[Tensor], k_cache: Tensor,
                           v_cache: Tensor, cos: Tensor, sin: Tensor, slot_mapping: Tensor, tables: Tensor,
                           pos: Tensor, page_size: int, eps: float, residual: bool, w8a8: bool) -> List[Tensor]:
    # x, r: [T, H] bf16 (r, the last layer's down_proj, added first where residual); lw: the layer's weights as
    # layer_weights lists them (bf16: 9; int8: each projection followed by its scale, 16); caches, cos, sin,
    # slot_mapping as native_rope_kv; tables [T, P], pos [T] as native_decode_attention; w8a8: the int8 linears
    # quantize their rows (native_w8a8) -> [x + r + o_proj [T, H], down_proj [T, H]]
    if len(lw) == 9:
      o = ops.llamaserve.decoder_layer(x, r, lw[0], lw[1], lw[2], lw[3], lw[4], lw[5], lw[6], lw[7], lw[8], k_cache,
                                       v_cache, cos, sin, slot_mapping, tables, pos, page_size, eps, residual)
    else:
      o = ops.llamaserve.decoder_layer_int8(x, r, lw[0], lw[1], lw[2], lw[3], lw[4], lw[5], lw[6], lw[7], lw[8],
                                            lw[9], lw[10], lw[11], lw[12], lw[13], lw[14], lw[15], k_cache, v_cache,
                                            cos, sin, slot_mapping, tables, pos, page_size, eps, residual, w8a8)
    return [o[0], o[1]]
  def native_w8a8_ready(self: __torch__.LlamaForCausalLM) -> bool:
    # whether native_w8a8 can run: AVX-512 VNNI (with BF16 or without) and an instruction set in use
    return ops.llamaserve.w8a8_ready() == 1
  def native_isa(self: __torch__.LlamaForCausalLM, force: int) -> int:
    # 0 none, 1 AVX2 + FMA, 2 AVX-512 BF16; force >= 0 picks one the CPU has (tests)
    return ops.llamaserve.isa(force)
  def native_attention_body(self: __torch__.LlamaForCausalLM, group: int, head_dim: int) -> int:
    # decode_attention's body for the shape on the instruction set in use: 2 tiled, 1 generic, 0 none
    return ops.llamaserve.attention_body(group, head_dim)
  def native_amx(self: __torch__.LlamaForCausalLM, force: int) -> int:
    # 1 where linear_bf16/int8/w8a8 run on AMX tiles, else 0; force 1 turns them on (where the CPU has them), 0 off,
    # -1 asks
    return ops.llamaserve.amx(force)
  def native_avx512f(self: __torch__.LlamaForCausalLM, force: int) -> int:
    # 1 where linear_bf16 with AVX2 in use runs on its AVX-512F body (by default where the CPU has AVX-512F), else 0;
    # force 1 or 0 switches (1 only where the CPU has it), -1 asks
    return ops.llamaserve.avx512f(force)
  def native_gemm_prefetch(self: __torch__.LlamaForCausalLM, force: int) -> int:
    # 1 where the several-row kernels (linear_bf16, linear_int8, linear_w8a8) prefetch the next weights into L1, 0
    # into L2 (by default 1 where the L1 data cache holds 48 KiB); force 1 or 0 switches, -1 asks
    return ops.llamaserve.gemm_prefetch(force)
  def native_huge_pages(self: __torch__.LlamaForCausalLM, t: Tensor, written: bool) -> int:
    # t: a weight on the CPU -> the bytes of it on 2 MiB pages: written, collapsed onto them now; else (t just made,
    # about to be filled: its contents are dropped) advised, so that its pages fault in huge (0: none, -1: off)
    if t.is_mkldnn:
      return 0                                                       # a oneDNN-packed copy: memory it owns
    return ops.llamaserve.huge_pages(t, 1 if written else 0)
  def native_huge_offset(self: __torch__.LlamaForCausalLM, t: Tensor) -> int:
    # t: on the CPU -> the bytes from its first byte to the next 2 MiB boundary (0: on one)
    return ops.llamaserve.huge_offset(t)
  def native_copy_raw(self: __torch__.LlamaForCausalLM, out: Tensor, raw: Tensor) -> int:
    # out: [..., n] contiguous; raw: [..., n * bytes] uint8 -> the bytes of raw copied into out (0: not the same
    # number of bytes, nothing written)
    return ops.llamaserve.copy_raw(out, raw)
