  # appended to llama_step.py's class where llama-serve's native kernels are not loaded (NativeKernels): the
  # same methods through libtorch, or empty results where never selected; the model never selects them
  # (native_isa is 0) and keeps int8 row-major
  def native_bf16(self: __torch__.LlamaForCausalLM, x: Tensor, w: Tensor) -> Tensor:
    return torch.linear(x, w)                                        # [T, in] x [out, in] -> [T, out]
  def native_int8(self: __torch__.LlamaForCausalLM, x: Tensor, qb: Tensor, scale: Tensor) -> Tensor:
    return torch.linear(x, torch.to(qb, x.dtype)) * scale            # [T, out] * [out] (row-major q)
  def native_w8a8(self: __torch__.LlamaForCausalLM, x: Tensor, qb: Tensor, scale: Tensor) -> Tensor:
    return torch.empty([0, 0], dtype=x.dtype)                        # never selected (w8a8 needs the kernels)
  def native_block_int8(self: __torch__.LlamaForCausalLM, q: Tensor) -> Tensor:
    return q                                                         # [out, in]
  def native_quantize_int8(self: __torch__.LlamaForCausalLM, raw: Tensor) -> List[Tensor]:
    return self.to_int8(raw, 15, 15, "cpu")                         # [q row-major, scale]
  def native_widen_int8(self: __torch__.LlamaForCausalLM, qb: Tensor, scratch: Tensor) -> Tensor:
    return torch.to(qb, 15)                                          # [out, in] bf16
  def native_decode_attention(self: __torch__.LlamaForCausalLM, q: Tensor, k_cache: Tensor, v_cache: Tensor,
                              tables: Tensor, pos: Tensor, page_size: int) -> Tensor:
    return torch.empty([0, 0, 0], dtype=q.dtype)                     # never selected: fails the step's index_copy_
  def native_rms_norm(self: __torch__.LlamaForCausalLM, x: Tensor, weight: Tensor, eps: float) -> Tensor:
    return torch.empty([0, 0], dtype=x.dtype)                        # never selected (rms_norm calls this: no recursion)
  def native_add_rms_norm(self: __torch__.LlamaForCausalLM, x: Tensor, r: Tensor, weight: Tensor, eps: float) -> List[Tensor]:
    return [torch.empty([0, 0], dtype=x.dtype), torch.empty([0, 0], dtype=x.dtype)]   # never selected (as native_rms_norm)
  def native_silu_mul(self: __torch__.LlamaForCausalLM, gate: Tensor, up: Tensor) -> Tensor:
    return torch.empty([0, 0], dtype=gate.dtype)                     # never selected (native_silu_ready is False)
  def native_argmax_rows(self: __torch__.LlamaForCausalLM, x: Tensor, width: int) -> Tensor:
    return torch.empty([0], dtype=4)                                 # never selected (native_argmax is False)
  def native_silu_ready(self: __torch__.LlamaForCausalLM) -> bool:
    return False
  def native_rope_kv(self: __torch__.LlamaForCausalLM, q: Tensor, k: Tensor, v: Tensor, cos: Tensor, sin: Tensor,
                     k_cache: Tensor, v_cache: Tensor, slot_mapping: Tensor) -> Tensor:
    return torch.empty([0, 0, 0], dtype=q.dtype)                     # never selected (rope_kv calls this: no recursion)
  def native_decoder_layer(self: __torch__.LlamaForCausalLM, x: Tensor, r: Tensor, lw: List[Tensor], k_cache: Tensor,
                           v_cache: Tensor, cos: Tensor, sin: Tensor, slot_mapping: Tensor, tables: Tensor,
                           pos: Tensor, page_size: int, eps: float, residual: bool, w8a8: bool) -> List[Tensor]:
    return [torch.empty([0, 0], dtype=x.dtype), torch.empty([0, 0], dtype=x.dtype)]   # never selected (fused_layers)
  def native_w8a8_ready(self: __torch__.LlamaForCausalLM) -> bool:
    return False
  def native_isa(self: __torch__.LlamaForCausalLM, force: int) -> int:
    return 0
  def native_attention_body(self: __torch__.LlamaForCausalLM, group: int, head_dim: int) -> int:
    return 0
  def native_amx(self: __torch__.LlamaForCausalLM, force: int) -> int:
    return 0
  def native_gemm_prefetch(self: __torch__.LlamaForCausalLM, force: int) -> int:
    return 0
  def native_avx512f(self: __torch__.LlamaForCausalLM, force: int) -> int:
    return 0
  def native_huge_pages(self: __torch__.LlamaForCausalLM, t: Tensor, written: bool) -> int:
    return 0
  def native_huge_offset(self: __torch__.LlamaForCausalLM, t: Tensor) -> int:
    return 0
  def native_copy_raw(self: __torch__.LlamaForCausalLM, out: Tensor, raw: Tensor) -> int:
    return 0
