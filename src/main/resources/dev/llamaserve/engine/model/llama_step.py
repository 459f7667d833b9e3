class LlamaForCausalLM(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  def to_compute(self: __torch__.LlamaForCausalLM, raw: Tensor, src_dtype: int, dst_dtype: int, device: str,
                 huge: bool) -> Tensor:
    # raw: [..., n * bytes] uint8 on cpu -> [..., n] in dst_dtype on device; huge (cpu): written into memory advised
    # onto 2 MiB pages first (huge_empty), in the checkpoint's own dtype straight from raw (native_copy_raw: this
    # JIT has no view(dtype), and view_copy(out=) copies first)
    if huge:
      size = torch.size(raw)
      size[-1] = size[-1] // torch.element_size(torch.empty([0], dtype=src_dtype))
      out = self.huge_empty(size, dst_dtype)                         # [..., n], not yet written
      if src_dtype == dst_dtype and self.native_copy_raw(out, raw) > 0:
        return out
      return torch.copy_(out, torch.view_copy(raw, dtype=src_dtype))   # converted through a transient copy
    w = torch.view_copy(raw, dtype=src_dtype)
    return torch.contiguous(torch.to(w, torch.device(device), dst_dtype))
  def huge_empty(self: __torch__.LlamaForCausalLM, size: List[int], dtype: int) -> Tensor:
    # -> [size] of dtype on the cpu, not yet written, advised onto 2 MiB pages so that its pages fault in huge as it
    # is written (native_huge_pages: collapsing pages already written copies them, 10 s for the 1B shape's weights).
    # One of 2 MiB or more starts on a 2 MiB boundary of an allocation 4 MiB larger, all of it on huge pages: a tensor
    # of its own starts anywhere, and its head and tail, some 2 MiB of each matrix, would stay on 4 KiB pages; the
    # untouched 2-4 MiB around it are address space, not memory
    n = 1
    for d in size:
      n = n * d
    item = torch.element_size(torch.empty([0], dtype=dtype))
    if n * item < 2097152:
      out = torch.empty(size, dtype=dtype)                           # [size]
      self.native_huge_pages(out, False)
      return out
    whole = torch.empty([n + 4194304 // item], dtype=dtype)          # [n + 4 MiB / item]
    self.native_huge_pages(whole, False)
    start = self.native_huge_offset(whole) // item
    return torch.view(torch.narrow(whole, 0, start, n), size)        # [size] from a 2 MiB boundary
  def on_huge_pages(self: __torch__.LlamaForCausalLM, t: Tensor) -> Tensor:
    # t: contiguous on the cpu (an int8 weight, which the native kernels make) -> a copy of it on 2 MiB pages
    return torch.copy_(self.huge_empty(torch.size(t), t.dtype), t)
  def to_int8(self: __torch__.LlamaForCausalLM, raw: Tensor, src_dtype: int, scale_dtype: int, device: str) -> List[Tensor]:
    # raw: [out, in * bytes] uint8 on cpu -> [q: [out, in] int8, scale: [out] scale_dtype] on device, w ≈ q * scale
    # symmetric, one scale per output channel: scale = absmax(row) / 127, q = clamp(round(w / scale), -127, 127);
    # one tensor at a time in float32 (the largest, an 8B lm_head, is 2 GiB transient)
    wf = torch.view_copy(raw, dtype=src_dtype).float()              # [out, in] f32
    scale = torch.clamp(torch.amax(torch.abs(wf), [1]), 1e-30) / 127.    # [out] f32 (an all-zero row keeps scale > 0)
    q = torch.clamp(torch.round(wf / torch.unsqueeze(scale, 1)), -127., 127.)   # [out, in] f32 integers
    dev = torch.device(device)
    return [torch.contiguous(torch.to(q, dev, 1)), torch.to(scale, dev, scale_dtype)]   # int8 [out, in], [out]
  def int8_pack_probe(self: __torch__.LlamaForCausalLM, dtype: int, device: str) -> Tensor:
    # fails where this libtorch lacks torch._weight_int8pack_mm for activations of dtype on device
    dev = torch.device(device)
    x = torch.ones([1, 64], dtype=dtype, device=dev)                 # [1, 64]
    q = torch.ones([8, 64], dtype=1, device=dev)                     # [8, 64] int8
    s = torch.ones([8], dtype=dtype, device=dev)                     # [8]
    return torch.to(torch._weight_int8pack_mm(x, q, s), torch.device("cpu"), 6)   # [1, 8] f32 on cpu, all 64
  def new_cache(self: __torch__.LlamaForCausalLM, slots: int, num_kv_heads: int, head_dim: int, dtype: int, device: str,
                pre_touch: bool) -> Tensor:
    # -> [slots, num_kv_heads, head_dim] (dtype 0 = uint8 holding float8_e4m3fn bits), uninitialised unless
    # pre_touch: a step reads whole pages, and the slots of a page that no token wrote yet are masked out of the
    # scores and zeroed in the values they weigh (attend), so no zero fill is needed, and on the CPU the pages of a
    # large pool are only committed as sequences use them (a 5 GiB zero fill took 17 s at startup); pre_touch
    # (llm.engine.kv-cache-pre-touch) zero-fills it, committing the whole pool now
    if pre_touch:
      return torch.zeros([slots, num_kv_heads, head_dim], dtype=dtype, device=torch.device(device))
    return torch.empty([slots, num_kv_heads, head_dim], dtype=dtype, device=torch.device(device))
  def new_scales(self: __torch__.LlamaForCausalLM, slots: int, num_kv_heads: int, device: str, pre_touch: bool) -> Tensor:
    # -> [slots, num_kv_heads] float32: the scale of each token's float8 K (or V) of each KV head
    if pre_touch:
      return torch.zeros([slots, num_kv_heads], dtype=6, device=torch.device(device))
    return torch.empty([slots, num_kv_heads], dtype=6, device=torch.device(device))
  def write_kv(self: __torch__.LlamaForCausalLM, cache: Tensor, scales: Tensor, slot_mapping: Tensor, x: Tensor, fp8: bool) -> None:
    # cache: [S, KVH, D]; scales: [S, KVH] f32 (fp8 only); slot_mapping: [T] int64; x: [T, KVH, D] compute dtype
    # cache[slot_mapping[t]] = x[t]; in float8 e4m3 each token's head is scaled by its own amax / 448 (dynamic,
    # exact range per token: nothing to calibrate, and a later token never rescales an earlier one)
    if fp8:
      xf = x.float()                                                 # [T, KVH, D] f32
      s = torch.clamp_min(torch.amax(torch.abs(xf), [-1], True), 1e-30) / 448.   # [T, KVH, 1]
      q8 = torch.to(torch.clamp(xf / s, -448., 448.), 24)            # [T, KVH, D] float8_e4m3fn
      cache.index_copy_(0, slot_mapping, torch.view_copy(q8, dtype=0))   # its bits as uint8
      scales.index_copy_(0, slot_mapping, torch.squeeze(s, -1))      # [T, KVH]
    else:
      cache.index_copy_(0, slot_mapping, torch.to(x, cache.dtype))   # [T, KVH, D]
  def new_workspace(self: __torch__.LlamaForCausalLM, kv_tokens: int, score_elements: int, out_elements: int,
                    num_kv_heads: int, head_dim: int, cache_dtype: int, fp8: bool, device: str) -> List[Tensor]:
    # attention's scratch memory, made once at load and reused by every call (zero-filled, so committed now):
    # [k: [kv_tokens * KVH * D] f32, v: the same, gather: [kv_tokens * KVH * D] cache dtype,
    #  gather8: the same in float8 e4m3 (fp8 only, else [0]), scores: [score_elements] f32,
    #  out: [out_elements] f32, acc: [out_elements] f32]
    # A tile of attention is sized to fit it; where one page does not fit, a call allocates as before (take).
    # Why: a fresh tensor of more than a few MiB is new memory from the OS each time (glibc maps and unmaps
    # large blocks), and every 4 KiB page of it costs a page fault when first written: 16 sequences x 1,024
    # tokens of context made 200,000-300,000 faults per decode step of the 1B shape, a 512-token prefill chunk
    # after 1,536 tokens 2.1 million, more time than the arithmetic.
    dev = torch.device(device)
    n = kv_tokens * num_kv_heads * head_dim
    g8 = torch.zeros([n if fp8 else 0], dtype=24, device=dev)
    return [torch.zeros([n], dtype=6, device=dev), torch.zeros([n], dtype=6, device=dev),
            torch.zeros([n], dtype=cache_dtype, device=dev), g8, torch.zeros([score_elements], dtype=6, device=dev),
            torch.zeros([out_elements], dtype=6, device=dev), torch.zeros([out_elements], dtype=6, device=dev)]
  def new_scratch(self: __torch__.LlamaForCausalLM, elements: int, dtype: int, device: str) -> Tensor:
    # -> [elements] in dtype, uninitialised: scratch a step reuses (int8 widening, LlamaModel.INT8_WIDEN_SCRATCH)
    return torch.empty([elements], dtype=dtype, device=torch.device(device))
  def take(self: __torch__.LlamaForCausalLM, work: Tensor, shape: List[int]) -> Tensor:
    # the first prod(shape) elements of a flat workspace, viewed as shape (no allocation); a new tensor where the
    # workspace is too small (LlamaModel.forward reads the logits scratch in place wherever they fit, by this rule)
    numel = 1
    for d in shape:
      numel = numel * d
    if numel <= work.size(0):
      return torch.view(torch.narrow(work, 0, 0, numel), shape)
    return torch.empty(shape, dtype=work.dtype, device=work.device)
  def read_pages(self: __torch__.LlamaForCausalLM, pages: Tensor, scales: Tensor, ids: Tensor, B: int, fp8: bool,
                 gather: Tensor, gather8: Tensor, out: Tensor) -> Tensor:
    # pages: [NP, PS, KVH, D] (a view of the cache); scales: [NP, PS, KVH] f32 (fp8 only); ids: [B * n] int64, the
    # n pages of sequence 0, then of sequence 1, ...; gather, gather8, out: flat workspaces (cache dtype, float8,
    # f32) -> [B, KVH, n * PS, D] f32, contiguous (in out): the pages' K or V per KV head, upcast (and unscaled
    # from float8) in the one copy that also puts each head's keys together, so that the score and value products
    # take them as they are (matmul copies a transposed operand that is not contiguous in its batch dimensions
    # element by element)
    PS = pages.size(1)
    KVH = pages.size(2)
    D = pages.size(3)
    n = ids.size(0)
    g = self.take(gather, [n, PS, KVH, D])                           # [B*n, PS, KVH, D] cache dtype
    torch.index_select(pages, 0, ids, out=g)
    x = torch.permute(torch.view(g, [B, -1, KVH, D]), [0, 2, 1, 3])  # [B, KVH, L, D] a view
    o = self.take(out, [B, KVH, n // B * PS, D])                     # [B, KVH, L, D] f32
    if fp8:
      x8 = self.take(gather8, [B, KVH, n // B * PS, D])              # [B, KVH, L, D] float8_e4m3fn
      torch.view_copy(x, dtype=24, out=x8)                          # the bits, reinterpreted and laid out per head
      o.copy_(x8)                                                    # upcast
      sc = torch.view(torch.index_select(scales, 0, ids), [B, -1, KVH])   # [B, L, KVH]
      o.mul_(torch.unsqueeze(torch.permute(sc, [0, 2, 1]), -1))      # [B, KVH, L, D] * [B, KVH, L, 1]
    else:
      o.copy_(x)                                                     # [B, KVH, L, D] f32
    return o
  def attend(self: __torch__.LlamaForCausalLM, q: Tensor, k_cache: Tensor, v_cache: Tensor, k_scales: Tensor,
             v_scales: Tensor, pages: Tensor, q_pos: Tensor, num_pages: int, page_size: int, chunk_pages: int,
             fp8: bool, work: List[Tensor]) -> Tensor:
    # q: [B, QL, NH, D] compute dtype; pages: [B, >= num_pages] int64, each sequence's page (block) table;
    # q_pos: [B, QL] int64 positions of the queries; k_cache, v_cache: [S, KVH, D]; k_scales, v_scales: [S, KVH];
    # work: new_workspace's tensors
    # -> [B, QL, NH, D]: causal softmax(q k^T / sqrt(D)) v over the keys at positions <= q_pos, read from the
    # pages in place, a tile of at most chunk_pages pages at a time (fewer where the workspace holds fewer),
    # merged with a running max and sum (online softmax) in f32: extra memory O(B x QL x NH x tile), never a score
    # matrix over the whole context. GQA: head h reads KV head h // (NH / KVH), as Hugging Face's repeat_kv.
    B = q.size(0)
    QL = q.size(1)
    NH = q.size(2)
    D = q.size(3)
    KVH = k_cache.size(1)
    G = NH // KVH
    k_pages = torch.view(k_cache, [-1, page_size, KVH, D])           # [NP, PS, KVH, D] same storage
    v_pages = torch.view(v_cache, [-1, page_size, KVH, D])           # [NP, PS, KVH, D]
    ks_pages = k_scales
    vs_pages = v_scales
    if fp8:
      ks_pages = torch.view(k_scales, [-1, page_size, KVH])          # [NP, PS, KVH]
      vs_pages = torch.view(v_scales, [-1, page_size, KVH])          # [NP, PS, KVH]
    # pages per tile: what the K/V and score workspaces hold, at most chunk_pages, at least one
    tile = min(chunk_pages, work[0].size(0) // (B * page_size * KVH * D), work[4].size(0) // (B * KVH * G * QL * page_size))
    tile = max(1, tile)
    qf = torch.reshape(torch.to(q, 6), [B, QL, KVH, G, D])           # [B, QL, KVH, G, D] f32
    qf = torch.reshape(torch.permute(qf, [0, 2, 3, 1, 4]), [B * KVH, G * QL, D]) * (1.0 / (float(D) ** 0.5))   # [B*KVH, G*QL, D]
    acc = self.take(work[6], [B * KVH, G * QL, D])                   # [B*KVH, G*QL, D] f32
    m = torch.empty([0])
    l = torch.empty([0])
    for c0 in range(0, num_pages, tile):
      n = min(tile, num_pages - c0)
      L = n * page_size
      ids = torch.reshape(pages[:, c0:c0 + n], [-1])                 # [B*n]
      kc = self.read_pages(k_pages, ks_pages, ids, B, fp8, work[2], work[3], work[0])   # [B, KVH, L, D] f32
      s = self.take(work[4], [B * KVH, G * QL, L])                   # [B*KVH, G*QL, L] f32
      torch.bmm(qf, torch.transpose(torch.view(kc, [B * KVH, L, D]), 1, 2), out=s)   # [B*KVH, G*QL, D] x [B*KVH, D, L]
      kpos = torch.arange(c0 * page_size, c0 * page_size + L, device=q.device)   # [L]
      hidden = torch.gt(torch.unsqueeze(torch.unsqueeze(kpos, 0), 0), torch.unsqueeze(q_pos, 2))   # [B, QL, L]
      hidden = torch.unsqueeze(torch.unsqueeze(hidden, 1), 1)        # [B, 1, 1, QL, L]
      torch.view(s, [B, KVH, G, QL, L]).masked_fill_(hidden, -1e30)  # in place
      vc = self.read_pages(v_pages, vs_pages, ids, B, fp8, work[2], work[3], work[1])   # [B, KVH, L, D] f32
      vc = torch.nan_to_num_(torch.view(vc, [B * KVH, L, D]), 0., 0., 0.)   # [B*KVH, L, D]; unwritten slots weigh 0
      m_c = torch.amax(s, [-1], True)                                # [B*KVH, G*QL, 1]
      if c0 == 0:
        m = m_c
        p = torch.exp_(s.sub_(m))                                    # [B*KVH, G*QL, L] in place
        l = torch.sum(p, [-1], True)                                 # [B*KVH, G*QL, 1]
        torch.bmm(p, vc, out=acc)                                    # [B*KVH, G*QL, D]
      else:
        m_new = torch.maximum(m, m_c)                                # [B*KVH, G*QL, 1]
        alpha = torch.exp(m - m_new)                                 # [B*KVH, G*QL, 1]
        p = torch.exp_(s.sub_(m_new))                                # [B*KVH, G*QL, L] in place
        l = l * alpha + torch.sum(p, [-1], True)                     # [B*KVH, G*QL, 1]
        pv = self.take(work[5], [B * KVH, G * QL, D])                # [B*KVH, G*QL, D]
        torch.bmm(p, vc, out=pv)
        acc.mul_(alpha).add_(pv)                                     # [B*KVH, G*QL, D]
        m = m_new
    o = torch.reshape(acc / l, [B, KVH, G, QL, D])                   # [B, KVH, G, QL, D]
    o = torch.reshape(torch.permute(o, [0, 3, 1, 2, 4]), [B, QL, NH, D])   # [B, QL, NH, D]
    return torch.to(o, q.dtype)
  def probe_float8(self: __torch__.LlamaForCausalLM, device: str) -> Tensor:
    # [4] f32 -> float8_e4m3fn -> its bits as uint8 -> back to f32 on the device (the load-time check of kv_fp8)
    x = torch.tensor([1.0, -2.0, 448.0, 0.5], device=torch.device(device))   # [4] f32
    bits = torch.view_copy(torch.to(x, 24), dtype=0)                 # [4] uint8
    return torch.to(torch.to(torch.view_copy(bits, dtype=24), 6), torch.device("cpu"))   # [4] f32 on cpu
  def rms_norm(self: __torch__.LlamaForCausalLM, x: Tensor, weight: Tensor, eps: float, native: bool) -> Tensor:
    # x: [T, H] compute dtype; weight: [H] -> [T, H]; statistics in float32 as in HF LlamaRMSNorm
    # (native: the same in one call, llama-serve's native kernels, bf16 on the CPU)
    if native:
      return self.native_rms_norm(x, weight, eps)                    # [T, H]
    xf = x.float()                                                   # [T, H] f32
    variance = torch.mean(torch.pow(xf, 2), [-1], True)              # [T, 1]
    xf = xf * torch.rsqrt(variance + eps)                            # [T, H]
    return weight * torch.to(xf, x.dtype)                            # [T, H]
  def argmax_rows(self: __torch__.LlamaForCausalLM, x: Tensor, width: int, native: bool) -> Tensor:
    # x: [R, V] -> [R] int64, each row's first greatest of its first width values: the sampler's greedy pick
    # (native: llama-serve's kernel, which passes a NaN over as the sampler's loop does; torch.argmax counts it as
    # the greatest)
    if native:
      return self.native_argmax_rows(x, width)                       # [R]
    return torch.argmax(torch.narrow(x, 1, 0, width), 1)             # [R]
  def silu_mul(self: __torch__.LlamaForCausalLM, gate: Tensor, up: Tensor, native: bool) -> Tensor:
    # gate, up: [T, I] -> silu(gate) * up [T, I] (SwiGLU; native: in one pass, native_silu_mul, bf16 on the CPU)
    if native:
      return self.native_silu_mul(gate, up)                          # [T, I]
    return torch.silu(gate) * up                                     # [T, I]
  def add_rms_norm(self: __torch__.LlamaForCausalLM, x: Tensor, r: Tensor, weight: Tensor, eps: float, native: bool) -> List[Tensor]:
    # x, r: [T, H] compute dtype (the residual stream and what a block adds to it); weight: [H]
    # -> [x + r, rms_norm(x + r)] (native: both in one pass, native_add_rms_norm, bf16 on the CPU)
    if native:
      return self.native_add_rms_norm(x, r, weight, eps)             # [[T, H], [T, H]]
    s = x + r                                                        # [T, H]
    return [s, self.rms_norm(s, weight, eps, False)]                 # [[T, H], [T, H]]
  def linear(self: __torch__.LlamaForCausalLM, x: Tensor, w: Dict[str, Tensor], name: str, mode: int) -> Tensor:
    # x: [T, in]; w[name]: [out, in] -> [T, out]
    # mode 1: multiply in float32 (CPU fp16 GEMM with many rows is slow)
    # mode 2: one row is sent as two (CPU bf16 GEMV path is slow, its GEMM path is not)
    # int8 weights (llm.model.quantization) come with w[name + "_scale"]: [out] in x.dtype, w ≈ q * scale;
    # mode 3: through _weight_int8pack_mm (CPU, bf16, few rows), else widened to x.dtype for the GEMM;
    #   float weights take mode 3 as mode 2; mode 5: int8 weights as mode 3, float weights (a bf16 lm_head) as mode 4
    # mode 4: one row goes to oneDNN's linear directly (bf16 on CPUs with AVX512-BF16/AMX; see LlamaModel), and
    #   several rows too when w has name + "_packed" (llm.model.packed-weights: the weight in oneDNN's blocked
    #   layout, which torch.linear would otherwise re-lay out on every call)
    # modes 6, 7: llama-serve's native kernels (NativeKernels), where int8 weights are kept blocked: mode 6 int8
    #   weights through native_int8 (up to 64 rows), mode 7 widened from the blocked layout into the model's
    #   scratch w["int8_widen_scratch"] for oneDNN's GEMM (prefill; a weight larger than the scratch, an int8
    #   lm_head, takes native_int8); float weights in both: one row through native_bf16, several as mode 4
    # mode 8: float weights through native_bf16 whatever the rows (LlamaModel sends it for steps of up to
    #   cpuNativeBf16MaxRows rows, by default every step, on CPUs with the native kernels), int8 weights as mode 6
    # mode 9: mode 7's widened int8 weights through native_bf16 instead of oneDNN's GEMM, float weights as mode 8
    #   (AVX2 CPUs, where libtorch's bf16 GEMM emulates bf16 at a third of the native kernel's rate)
    # where w has "int8_activations" (w8a8), int8 weights in modes 6-8 go to native_w8a8 whatever the rows
    weight = w[name]
    if weight.dtype == 1:                                            # int8 [out, in]
      scale = w[name + "_scale"]                                     # [out]
      if (mode == 6 or mode == 7 or mode == 8) and "int8_activations" in w:   # llm.model.quantization=w8a8
        return self.native_w8a8(x, weight, scale)                    # [T, out]
      if mode == 7 or mode == 9:
        scratch = w["int8_widen_scratch"]                            # [S] bf16
        if weight.numel() <= scratch.numel():
          wide = self.native_widen_int8(weight, scratch)             # [out, in] bf16 (a view of the scratch)
          if mode == 9:
            return self.native_bf16(x, wide) * scale                 # [T, out] * [out]
          return torch.linear(x, wide) * scale                       # [T, in] x [out, in] -> [T, out] * [out]
      if mode == 6 or mode == 7 or mode == 8 or mode == 9:
        return self.native_int8(x, weight, scale)                    # [T, out]
      if mode == 3 or mode == 5:
        return torch._weight_int8pack_mm(x, weight, scale)           # [T, out]
      rows = 16384                                                   # LlamaModel.INT8_WIDEN_ROWS
      if weight.size(0) > rows:
        # widened [rows, in] at a time (an int8 lm_head: [vocab, in] whole would be 1 GB for the 8B on a GPU)
        y = torch.empty([x.size(0), weight.size(0)], dtype=x.dtype, device=x.device)   # [T, out]
        for r0 in range(0, weight.size(0), rows):
          r1 = min(r0 + rows, weight.size(0))
          y[:, r0:r1] = torch.linear(x, torch.to(weight[r0:r1], x.dtype)) * scale[r0:r1]   # [T, r1 - r0]
        return y
      return torch.linear(x, torch.to(weight, x.dtype)) * scale      # [T, in] x [in, out] -> [T, out] * [out]
    if ((mode == 6 or mode == 7) and x.size(0) == 1) or mode == 8 or mode == 9:
      return self.native_bf16(x, weight)                             # [T, out]
    if mode == 5 or mode == 6 or mode == 7:
      mode = 4
    if mode == 1:
      return torch.to(torch.linear(x.float(), weight.float()), x.dtype)   # [T, out]
    if mode == 4 and x.size(0) == 1:
      return ops.mkldnn._linear_pointwise(x, weight, None, "none", annotate(List[Optional[number]], []), "")   # [1, out]
    if mode == 4 and name + "_packed" in w:
      return ops.mkldnn._linear_pointwise(x, w[name + "_packed"], None, "none", annotate(List[Optional[number]], []), "")   # [T, in] x packed [out, in] -> [T, out]
    if (mode == 2 or mode == 3) and x.size(0) == 1:
      return torch.linear(torch.cat([x, x], 0), weight)[:1]          # [2, in] -> [2, out] -> [1, out]
    return torch.linear(x, weight)                                   # [T, out]
  def pack_linear(self: __torch__.LlamaForCausalLM, weight: Tensor, batch_hint: int) -> Tensor:
    # weight: [out, in] bf16 -> [out, in] in oneDNN's blocked layout for its linear (an opaque mkldnn tensor),
    # laid out for inputs of about batch_hint rows
    return ops.mkldnn._reorder_linear_weight(weight, batch_hint)
  def rotate_half(self: __torch__.LlamaForCausalLM, x: Tensor) -> Tensor:
    # x: [T, heads, D] -> [T, heads, D] = cat(-x2, x1)
    half = x.size(-1) // 2
    x1 = x[:, :, :half]                                              # [T, heads, D/2]
    x2 = x[:, :, half:]                                              # [T, heads, D/2]
    return torch.cat([torch.neg(x2), x1], -1)                        # [T, heads, D]
  def rope_kv(self: __torch__.LlamaForCausalLM, q: Tensor, k: Tensor, v: Tensor, cos: Tensor, sin: Tensor, k_cache: Tensor,
              v_cache: Tensor, k_scales: Tensor, v_scales: Tensor, slot_mapping: Tensor, fp8: bool, native: bool) -> Tensor:
    # q: [T, NH, D], k, v: [T, KVH, D]; cos, sin: [T, 1, D] -> q rotated [T, NH, D]; k rotated and v written to the
    # caches' slots (write_kv). native: the same in one call (native_rope_kv: bf16 caches on the CPU, bit-identical)
    if native:
      return self.native_rope_kv(q, k, v, cos, sin, k_cache, v_cache, slot_mapping)   # [T, NH, D]
    q = q * cos + self.rotate_half(q) * sin                          # [T, NH, D]
    k = k * cos + self.rotate_half(k) * sin                          # [T, KVH, D]
    self.write_kv(k_cache, k_scales, slot_mapping, k, fp8)           # k_cache[slot_mapping[t]] = k[t]
    self.write_kv(v_cache, v_scales, slot_mapping, v, fp8)           # v_cache[slot_mapping[t]] = v[t]
    return q
  def attend_rows(self: __torch__.LlamaForCausalLM, q: Tensor, k_cache: Tensor, v_cache: Tensor, k_scales: Tensor,
                  v_scales: Tensor, block_tables: Tensor, positions: Tensor, decode_tables: Tensor, decode_pos: Tensor,
                  decode_rows: Tensor, decode_pages: int, query_start: List[int], query_len: List[int],
                  context_len: List[int], page_size: int, chunk_pages: int, query_block: int, kv_fp8: bool,
                  native_attention: bool, native_prefill_context: int, row_tables: Tensor, work: List[Tensor]) -> Tensor:
    # q: [T, NH, D] rotated, its keys and values already written -> [T, NH, D]: the decoding sequences' rows (one
    # query each) attended together, each prefill chunk natively (row_tables [T, P]: each row's sequence's page
    # table) or query_block queries at a time (see step's arguments)
    B = len(query_len)
    attn = torch.empty(q.size(), dtype=q.dtype, device=q.device)    # [T, NH, D]
    if decode_pages > 0 and native_attention:
      od = self.native_decode_attention(torch.index_select(q, 0, decode_rows), k_cache, v_cache, decode_tables,
                                        decode_pos, page_size)     # [Bd, NH, D]
      attn.index_copy_(0, decode_rows, od)                         # attn[decode_rows[i]] = od[i]
    elif decode_pages > 0:
      qd = torch.unsqueeze(torch.index_select(q, 0, decode_rows), 1)   # [Bd, 1, NH, D]
      od = self.attend(qd, k_cache, v_cache, k_scales, v_scales, decode_tables, torch.unsqueeze(decode_pos, 1),
                       decode_pages, page_size, chunk_pages, kv_fp8, work)   # [Bd, 1, NH, D]
      attn.index_copy_(0, decode_rows, torch.squeeze(od, 1))      # attn[decode_rows[i]] = od[i]
    for b in range(B):
      qs = query_start[b]
      ql = query_len[b]
      if ql > 1 and context_len[b] <= native_prefill_context:
        # each query of the chunk as a decoding row of its own: against the keys up to its position, through the
        # sequence's page table (one per query), in one native call (CpuKernelSwitches.nativePrefillContext)
        attn[qs:qs + ql] = self.native_decode_attention(q[qs:qs + ql], k_cache, v_cache, row_tables[qs:qs + ql],
                                                        positions[qs:qs + ql], page_size)   # [ql, NH, D]
      elif ql > 1:
        # query_block queries at a time, each against the keys up to its own last position (causal: the pages
        # after it hold only keys it must not see), so a tile's scores hold the workspace's number of keys
        for q0 in range(0, ql, query_block):
          qn = min(query_block, ql - q0)
          np = (context_len[b] - ql + q0 + qn + page_size - 1) // page_size   # pages up to the block's last position
          ob = self.attend(torch.unsqueeze(q[qs + q0:qs + q0 + qn], 0), k_cache, v_cache, k_scales, v_scales,
                           block_tables[b:b + 1], torch.unsqueeze(positions[qs + q0:qs + q0 + qn], 0), np, page_size,
                           chunk_pages, kv_fp8, work)              # [1, qn, NH, D]
          attn[qs + q0:qs + q0 + qn] = ob[0]                       # [qn, NH, D]
    return attn
  def layer_weights(self: __torch__.LlamaForCausalLM, w: Dict[str, Tensor], num_layers: int) -> List[List[Tensor]]:
    # w (step's) -> for each of the first num_layers layers its weights in native_decoder_layer's order, each int8
    # projection followed by its "_scale": looked up once at load, not by name in every layer of every step
    layers: List[List[Tensor]] = []
    for l in range(num_layers):
      lw: List[Tensor] = []
      for name in ["input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                   "self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
                   "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"]:
        key = "model.layers." + str(l) + "." + name
        lw.append(w[key])
        if key + "_scale" in w:
          lw.append(w[key + "_scale"])
      layers.append(lw)
    return layers
  def step_ids(self: __torch__.LlamaForCausalLM, w: Dict[str, Tensor], layers: List[List[Tensor]], kv: List[Tensor],
               kv_scales: List[Tensor], inv_freq: Tensor, work: List[Tensor], ids: List[int], T: int, B: int, P: int,
               Bd: int, R: int, query_start: List[int], query_len: List[int], context_len: List[int],
               decode_pages: int, page_size: int, chunk_pages: int, query_block: int, kv_fp8: bool,
               native_attention: bool, native_norm: bool, native_rope: bool, native_silu: bool, fused_layers: bool,
               native_prefill_context: int, num_layers: int, num_heads: int, num_kv_heads: int, head_dim: int,
               eps: float, mode: int, argmax_width: int, native_argmax: bool) -> Tensor:
    # step, its integer tensors handed over as one list (ids: token_ids [T], positions [T], slot_mapping [T],
    # block_tables [B * P], decode_seqs [Bd], decode_rows [Bd], logit_rows [R], one after the other) and made here,
    # on the weights' device
    t = torch.tensor(ids, dtype=4, device=w["model.embed_tokens.weight"].device)   # [3T + BP + 2Bd + R] int64
    o = 3 * T + B * P
    return self.step(w, layers, kv, kv_scales, inv_freq, work, torch.narrow(t, 0, 0, T), torch.narrow(t, 0, T, T),
                     torch.narrow(t, 0, 2 * T, T), query_start, query_len,
                     torch.view(torch.narrow(t, 0, 3 * T, B * P), [B, P]), context_len,
                     torch.narrow(t, 0, o, Bd), torch.narrow(t, 0, o + Bd, Bd), decode_pages, page_size, chunk_pages,
                     query_block, kv_fp8, native_attention, native_norm, native_rope, native_silu, fused_layers,
                     native_prefill_context, torch.narrow(t, 0, o + 2 * Bd, R), num_layers, num_heads, num_kv_heads,
                     head_dim, eps, mode, argmax_width, native_argmax)
  def step(self: __torch__.LlamaForCausalLM, w: Dict[str, Tensor], layers: List[List[Tensor]], kv: List[Tensor], kv_scales: List[Tensor], inv_freq: Tensor,
           work: List[Tensor], token_ids: Tensor, positions: Tensor, slot_mapping: Tensor,
           query_start: List[int], query_len: List[int],
           block_tables: Tensor, context_len: List[int], decode_seqs: Tensor, decode_rows: Tensor,
           decode_pages: int, page_size: int, chunk_pages: int, query_block: int, kv_fp8: bool, native_attention: bool,
           native_norm: bool, native_rope: bool, native_silu: bool, fused_layers: bool, native_prefill_context: int,
           logit_rows: Tensor, num_layers: int, num_heads: int, num_kv_heads: int, head_dim: int,
           eps: float, mode: int, argmax_width: int, native_argmax: bool) -> Tensor:
    # w: Hugging Face name -> weight ("model.layers.0.self_attn.q_proj.weight", ...; "lm_head.weight" is
    #    embed_tokens when tied): a missing name fails with a KeyError naming it, never a wrong layer; and the
    #    step's scratch: w["logits_scratch"] [S] f32 on cpu, which the returned logits are a view of (the caller
    #    copies them out before the next step), w["int8_widen_scratch"] (mode 7)
    # layers: layer_weights(w, num_layers) where fused_layers may be set (else empty)
    # kv: [k_cache_0, v_cache_0, k_cache_1, ...], each [slots, num_kv_heads, head_dim], slots = pages * page_size;
    # kv_scales: the same for the float8 scales, each [slots, num_kv_heads] f32 (empty unless kv_fp8)
    # token_ids, positions, slot_mapping: [T] int64; logit_rows: [R] int64
    # block_tables: [B, P] int64, sequence b's context position p is in slot block_tables[b, p // page_size] *
    #   page_size + p % page_size (rows padded with any valid page); context_len: [B], sequence b's new tokens are
    #   its last query_len[b] positions
    # decode_seqs: [Bd] int64 the sequences with one new token, attended together; decode_rows: [Bd] their rows;
    # decode_pages: the most pages one of them reads (0 when Bd = 0);
    # query_block: the most queries of one prefill chunk attended in one call; native_attention: decode steps attend
    #   through native_decode_attention (llama-serve's native kernels, bf16 caches) instead of attend;
    #   native_norm: rms_norm through native_rms_norm (bf16 on the CPU); native_rope: rotary embedding and KV write
    #   through native_rope_kv (bf16 caches on the CPU); native_silu: the MLP's silu(gate) * up through native_silu_mul
    #   (bf16 on the CPU, bit-identical); fused_layers: every op of a layer is native this step (the four above, and
    #   the linears through native_bf16, native_int8 or native_w8a8: LlamaModel decides by the mode), so that where
    #   every row attends natively each layer is one native_decoder_layer call, the same kernels in the same order
    #   (bit-identical); native_prefill_context: prefill chunks of sequences with
    #   at most this much context attend through native_decode_attention, a query per row (0: never)
    # inv_freq: [head_dim / 2] float64; work: new_workspace's tensors (attention's scratch, made at load)
    # argmax_width: 0 returns the logits [R, V]; above 0, each row's argmax over its first argmax_width logits
    #   instead (argmax_rows), [R] as f32 (ids below 2^24 are exact): what a greedy row samples, without R x V floats
    #   copied out; native_argmax: through native_argmax_rows (llama-serve's native kernels, on the CPU)
    T = token_ids.size(0)
    embed_tokens = w["model.embed_tokens.weight"]                           # [V, H]
    x = torch.embedding(embed_tokens, token_ids)                     # [T, H]
    dtype = x.dtype
    freqs = torch.unsqueeze(torch.to(positions, 7), 1) * torch.unsqueeze(inv_freq, 0)   # [T, D/2] f64
    emb = torch.cat([freqs, freqs], -1)                              # [T, D]
    cos = torch.unsqueeze(torch.to(torch.cos(emb), dtype), 1)        # [T, 1, D]
    sin = torch.unsqueeze(torch.to(torch.sin(emb), dtype), 1)        # [T, 1, D]
    B = len(query_len)
    # the decoding sequences' page tables and positions, the same in every layer
    decode_tables = torch.index_select(block_tables, 0, decode_seqs)   # [Bd, P]
    decode_pos = torch.index_select(positions, 0, decode_rows)       # [Bd]
    # each row's sequence's page table [T, P], for the native kernel, which attends rows: where every row decodes
    # (T == B: rows follow their sequences, one each) the decoding tables as they are, else built once for all layers
    row_tables = decode_tables
    if native_attention and T > B:
      row_tables = torch.empty([T, block_tables.size(1)], dtype=block_tables.dtype, device=block_tables.device)
      for b in range(B):
        row_tables[query_start[b]:query_start[b] + query_len[b]] = block_tables[b:b + 1]   # [ql, P] <- [1, P]
    # every row in one native call where no prefill chunk's context is past native_prefill_context (decoding rows
    # always attend natively); else attend_rows, sequence by sequence
    native_rows = native_attention
    for b in range(B):
      if query_len[b] > 1 and context_len[b] > native_prefill_context:
        native_rows = False
    mlp_out = x                                                      # [T, H]: the last block's down_proj (none yet)
    fused = fused_layers and native_rows and len(layers) == num_layers
    w8a8 = "int8_activations" in w
    for l in range(num_layers):
      k_cache = kv[2 * l]                                            # [S, KVH, D]
      v_cache = kv[2 * l + 1]                                        # [S, KVH, D]
      if fused:   # the whole layer below in one call: [[T, H] x + o_proj, [T, H] down_proj]
        xm = self.native_decoder_layer(x, mlp_out, layers[l], k_cache, v_cache, cos, sin, slot_mapping, row_tables,
                                       positions, page_size, eps, l > 0, w8a8)
        x = xm[0]                                                    # [T, H]
        mlp_out = xm[1]                                              # [T, H]
        continue
      p = "model.layers." + str(l) + "."
      # --- self_attn --- (the last block's residual add and this norm in one call: add_rms_norm)
      if l == 0:
        h = self.rms_norm(x, w[p + "input_layernorm.weight"], eps, native_norm)   # [T, H]
      else:
        xh = self.add_rms_norm(x, mlp_out, w[p + "input_layernorm.weight"], eps, native_norm)
        x = xh[0]                                                    # [T, H] (x + down_proj)
        h = xh[1]                                                    # [T, H]
      q = torch.view(self.linear(h, w, p + "self_attn.q_proj.weight", mode), [T, num_heads, head_dim])  # [T, NH, D]
      k = torch.view(self.linear(h, w, p + "self_attn.k_proj.weight", mode), [T, num_kv_heads, head_dim])  # [T, KVH, D]
      v = torch.view(self.linear(h, w, p + "self_attn.v_proj.weight", mode), [T, num_kv_heads, head_dim])  # [T, KVH, D]
      k_scales = kv_scales[2 * l] if kv_fp8 else k_cache             # [S, KVH] f32 (fp8 only)
      v_scales = kv_scales[2 * l + 1] if kv_fp8 else v_cache         # [S, KVH] f32 (fp8 only)
      q = self.rope_kv(q, k, v, cos, sin, k_cache, v_cache, k_scales, v_scales, slot_mapping, kv_fp8, native_rope)   # [T, NH, D]
      if native_rows:   # no gather, no scatter
        attn = self.native_decode_attention(q, k_cache, v_cache, row_tables, positions, page_size)   # [T, NH, D]
      else:
        attn = self.attend_rows(q, k_cache, v_cache, k_scales, v_scales, block_tables, positions, decode_tables,
                                decode_pos, decode_rows, decode_pages, query_start, query_len, context_len, page_size,
                                chunk_pages, query_block, kv_fp8, native_attention, native_prefill_context, row_tables,
                                work)   # [T, NH, D]
      attn = torch.reshape(attn, [T, num_heads * head_dim])           # [T, NH*D]
      # --- mlp --- (o_proj's residual add and this norm in one call)
      xh = self.add_rms_norm(x, self.linear(attn, w, p + "self_attn.o_proj.weight", mode),
                             w[p + "post_attention_layernorm.weight"], eps, native_norm)
      x = xh[0]                                                      # [T, H] (x + o_proj)
      h = xh[1]                                                      # [T, H]
      gate = self.linear(h, w, p + "mlp.gate_proj.weight", mode)            # [T, I]
      up = self.linear(h, w, p + "mlp.up_proj.weight", mode)                # [T, I]
      mlp_out = self.linear(self.silu_mul(gate, up, native_silu), w, p + "mlp.down_proj.weight", mode)  # [T, H] (down_proj)
    x = torch.index_select(x, 0, logit_rows)                         # [R, H]
    if num_layers > 0:   # the last block's residual add, on the rows that need logits only, and model.norm
      x = self.add_rms_norm(x, torch.index_select(mlp_out, 0, logit_rows), w["model.norm.weight"], eps, native_norm)[1]   # [R, H]
    else:
      x = self.rms_norm(x, w["model.norm.weight"], eps, native_norm)        # [R, H] (model.norm)
    logits = self.linear(x, w, "lm_head.weight", mode if mode != 1 or x.size(0) > 1 else 0)  # [R, V] (lm_head, or embed_tokens when tied)
    if argmax_width > 0:
      ids = self.take(w["logits_scratch"], [logits.size(0)])           # [R] f32 on cpu: the scratch's first R floats
      ids.copy_(self.argmax_rows(logits, argmax_width, native_argmax))   # [R] int64 -> f32
      return ids
    out = self.take(w["logits_scratch"], [logits.size(0), logits.size(1)])   # [R, V] f32 on cpu: the scratch's first R rows
    out.copy_(logits)                                                # (a new tensor where it is too small)
    return out
