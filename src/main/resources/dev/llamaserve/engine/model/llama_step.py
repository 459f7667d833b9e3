class LlamaForCausalLM(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  def to_compute(self: __torch__.LlamaForCausalLM, raw: Tensor, src_dtype: int, dst_dtype: int, device: str) -> Tensor:
    # raw: [..., n * bytes] uint8 on cpu -> [..., n] in dst_dtype on device
    w = torch.view_copy(raw, dtype=src_dtype)
    return torch.contiguous(torch.to(w, torch.device(device), dst_dtype))
  def new_cache(self: __torch__.LlamaForCausalLM, slots: int, num_kv_heads: int, head_dim: int, dtype: int, device: str) -> Tensor:
    # -> [slots, num_kv_heads, head_dim], uninitialised: every slot a step reads (contextSlots) was written
    # (slotMapping) by an earlier or the same step, so no zero fill is needed, and on the CPU the pages of
    # a large pool are only committed as sequences use them (a 5 GiB zero fill took 17 s at startup)
    return torch.empty([slots, num_kv_heads, head_dim], dtype=dtype, device=torch.device(device))
  def rms_norm(self: __torch__.LlamaForCausalLM, x: Tensor, weight: Tensor, eps: float) -> Tensor:
    # x: [T, H] compute dtype; weight: [H] -> [T, H]; statistics in float32 as in HF LlamaRMSNorm
    xf = x.float()                                                   # [T, H] f32
    variance = torch.mean(torch.pow(xf, 2), [-1], True)              # [T, 1]
    xf = xf * torch.rsqrt(variance + eps)                            # [T, H]
    return weight * torch.to(xf, x.dtype)                            # [T, H]
  def linear(self: __torch__.LlamaForCausalLM, x: Tensor, weight: Tensor, mode: int) -> Tensor:
    # x: [T, in]; weight: [out, in] -> [T, out]
    # mode 1: multiply in float32 (CPU fp16 GEMM with many rows is slow)
    # mode 2: one row is sent as two (CPU bf16 GEMV path is slow, its GEMM path is not)
    # mode 3: one row goes to oneDNN's linear directly (bf16 on CPUs with AVX512-BF16/AMX; see LlamaModel)
    if mode == 1:
      return torch.to(torch.linear(x.float(), weight.float()), x.dtype)   # [T, out]
    if mode == 2 and x.size(0) == 1:
      return torch.linear(torch.cat([x, x], 0), weight)[:1]          # [2, in] -> [2, out] -> [1, out]
    if mode == 3 and x.size(0) == 1:
      return ops.mkldnn._linear_pointwise(x, weight, None, "none", annotate(List[Optional[number]], []), "")   # [1, out]
    return torch.linear(x, weight)                                   # [T, out]
  def rotate_half(self: __torch__.LlamaForCausalLM, x: Tensor) -> Tensor:
    # x: [T, heads, D] -> [T, heads, D] = cat(-x2, x1)
    half = x.size(-1) // 2
    x1 = x[:, :, :half]                                              # [T, heads, D/2]
    x2 = x[:, :, half:]                                              # [T, heads, D/2]
    return torch.cat([torch.neg(x2), x1], -1)                        # [T, heads, D]
  def step(self: __torch__.LlamaForCausalLM, w: Dict[str, Tensor], kv: List[Tensor], inv_freq: Tensor,
           token_ids: Tensor, positions: Tensor, slot_mapping: Tensor,
           query_start: List[int], query_len: List[int],
           context_slots: Tensor, context_start: List[int], context_len: List[int],
           logit_rows: Tensor, num_layers: int, num_heads: int, num_kv_heads: int, head_dim: int,
           eps: float, mode: int) -> Tensor:
    # w: Hugging Face name -> weight ("model.layers.0.self_attn.q_proj.weight", ...; "lm_head.weight" is
    #    embed_tokens when tied): a missing name fails with a KeyError naming it, never a wrong layer
    # kv: [k_cache_0, v_cache_0, k_cache_1, ...], each [slots, num_kv_heads, head_dim]
    # token_ids, positions, slot_mapping: [T] int64; context_slots: [sum C_b] int64; logit_rows: [R] int64
    # inv_freq: [head_dim / 2] float64
    T = token_ids.size(0)
    embed_tokens = w["model.embed_tokens.weight"]                           # [V, H]
    x = torch.embedding(embed_tokens, token_ids)                     # [T, H]
    dtype = x.dtype
    freqs = torch.unsqueeze(torch.to(positions, 7), 1) * torch.unsqueeze(inv_freq, 0)   # [T, D/2] f64
    emb = torch.cat([freqs, freqs], -1)                              # [T, D]
    cos = torch.unsqueeze(torch.to(torch.cos(emb), dtype), 1)        # [T, 1, D]
    sin = torch.unsqueeze(torch.to(torch.sin(emb), dtype), 1)        # [T, 1, D]
    B = len(query_len)
    for l in range(num_layers):
      p = "model.layers." + str(l) + "."
      k_cache = kv[2 * l]                                            # [S, KVH, D]
      v_cache = kv[2 * l + 1]                                        # [S, KVH, D]
      # --- self_attn ---
      h = self.rms_norm(x, w[p + "input_layernorm.weight"], eps)            # [T, H]
      q = torch.view(self.linear(h, w[p + "self_attn.q_proj.weight"], mode), [T, num_heads, head_dim])  # [T, NH, D]
      k = torch.view(self.linear(h, w[p + "self_attn.k_proj.weight"], mode), [T, num_kv_heads, head_dim])  # [T, KVH, D]
      v = torch.view(self.linear(h, w[p + "self_attn.v_proj.weight"], mode), [T, num_kv_heads, head_dim])  # [T, KVH, D]
      q = q * cos + self.rotate_half(q) * sin                        # [T, NH, D]
      k = k * cos + self.rotate_half(k) * sin                        # [T, KVH, D]
      k_cache.index_copy_(0, slot_mapping, k)                        # k_cache[slot_mapping[t]] = k[t]
      v_cache.index_copy_(0, slot_mapping, v)                        # v_cache[slot_mapping[t]] = v[t]
      outs: List[Tensor] = []
      for b in range(B):
        qs = query_start[b]
        ql = query_len[b]
        cs = context_start[b]
        cl = context_len[b]
        slots = context_slots[cs:cs + cl]                            # [C]
        kb = torch.transpose(torch.index_select(k_cache, 0, slots), 0, 1)   # [KVH, C, D]
        vb = torch.transpose(torch.index_select(v_cache, 0, slots), 0, 1)   # [KVH, C, D]
        qb = torch.transpose(q[qs:qs + ql], 0, 1)                    # [NH, ql, D]
        pos_b = positions[qs:qs + ql]                                # [ql]
        key_pos = torch.arange(cl, device=x.device)                  # [C]
        mask = torch.le(torch.unsqueeze(key_pos, 0), torch.unsqueeze(pos_b, 1))   # [ql, C] bool
        ob = torch.scaled_dot_product_attention(qb, kb, vb, mask, 0., False, scale=None, enable_gqa=True)  # [NH, ql, D]
        outs.append(torch.transpose(ob, 0, 1))                       # [ql, NH, D]
      attn = torch.reshape(torch.cat(outs, 0), [T, num_heads * head_dim])    # [T, NH*D]
      x = x + self.linear(attn, w[p + "self_attn.o_proj.weight"], mode)     # [T, H] (o_proj)
      # --- mlp ---
      h = self.rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)   # [T, H]
      gate = torch.silu(self.linear(h, w[p + "mlp.gate_proj.weight"], mode))  # [T, I]
      up = self.linear(h, w[p + "mlp.up_proj.weight"], mode)                # [T, I]
      x = x + self.linear(gate * up, w[p + "mlp.down_proj.weight"], mode)   # [T, H] (down_proj)
    x = torch.index_select(x, 0, logit_rows)                         # [R, H]
    x = self.rms_norm(x, w["model.norm.weight"], eps)                       # [R, H] (model.norm)
    logits = self.linear(x, w["lm_head.weight"], mode if mode != 1 or x.size(0) > 1 else 0)  # [R, V] (lm_head, or embed_tokens when tied)
    return torch.contiguous(torch.to(logits, torch.device("cpu"), 6))   # [R, V] f32 on cpu
