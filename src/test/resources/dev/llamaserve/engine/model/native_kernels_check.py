class NativeKernelsCheck(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  def isa(self: __torch__.NativeKernelsCheck, force: int) -> int:
    return ops.llamaserve.isa(force)
  def amx(self: __torch__.NativeKernelsCheck, force: int) -> int:
    return ops.llamaserve.amx(force)
  def gemm_prefetch(self: __torch__.NativeKernelsCheck, force: int) -> int:
    return ops.llamaserve.gemm_prefetch(force)
  def avx512f(self: __torch__.NativeKernelsCheck, force: int) -> int:
    return ops.llamaserve.avx512f(force)
  def w8a8_ready(self: __torch__.NativeKernelsCheck) -> int:
    return ops.llamaserve.w8a8_ready()
  def rows_apart(self: __torch__.NativeKernelsCheck, m: int, n: int, k: int) -> List[float]:
    # linear_bf16 of the same x [m, k] and w [n, k], x lying 0, 64, 1,024, 2,048 and 3,968 bytes past w's offset
    # within 4 KiB (both views of one buffer), under each gemm_apart setting (0 never copied apart, 1 where within
    # 1 KiB, 2 always): [products that differ from the first, bit for bit, max |first - float32 reference|,
    # max |reference|, products]
    torch.manual_seed(m * 1000003 + n * 1009 + k + 13)
    xs = torch.to(torch.randn([m, k]), 15)                           # [m, k] bf16
    ws = torch.to(torch.randn([n, k]) * 0.05, 15)                    # [n, k] bf16
    ref = torch.linear(xs.float(), ws.float())                       # [m, n] f32
    was = ops.llamaserve.gemm_apart(-1)
    first = torch.empty([0], dtype=15)
    differ = 0
    products = 0
    for force in [0, 1, 2]:
      ops.llamaserve.gemm_apart(force)
      for at in [0, 64, 1024, 2048, 3968]:
        pad = ((at - n * k * 2) % 4096 + 4096) % 4096 // 2            # elements between w's end and x
        buf = torch.empty([n * k + pad + m * k], dtype=15)           # [n * k + pad + m * k] bf16
        w = torch.view(buf[0:n * k], [n, k])                         # [n, k] bf16
        x = torch.view(buf[n * k + pad:n * k + pad + m * k], [m, k])   # [m, k] bf16, at bytes past w's offset
        w.copy_(ws)
        x.copy_(xs)
        y = ops.llamaserve.linear_bf16(x, w)                         # [m, n] bf16
        products += 1
        if first.numel() == 0:
          first = y
        elif not bool(torch.equal(y, first)):
          differ += 1
    ops.llamaserve.gemm_apart(was)
    return [float(differ), float(torch.amax(torch.abs(first.float() - ref))), float(torch.amax(torch.abs(ref))), float(products)]
  def bf16(self: __torch__.NativeKernelsCheck, m: int, n: int, k: int) -> List[float]:
    # [max |native - float32 reference|, max |reference|] of linear_bf16 on random x [m, k], w [n, k]
    torch.manual_seed(m * 1000003 + n * 1009 + k)
    x = torch.to(torch.randn([m, k]), 15)                            # [m, k] bf16
    w = torch.to(torch.randn([n, k]) * 0.05, 15)                     # [n, k] bf16
    ref = torch.linear(x.float(), w.float())                         # [m, n] f32
    y = ops.llamaserve.linear_bf16(x, w)                             # [m, n] bf16
    return [float(torch.amax(torch.abs(y.float() - ref))), float(torch.amax(torch.abs(ref))), float(y.size(0) * y.size(1))]
  def int8(self: __torch__.NativeKernelsCheck, m: int, n: int, k: int) -> List[float]:
    # [max |native - reference|, max |reference|, elements] of linear_int8 on blocked q; reference (x @ q^T) * scale
    torch.manual_seed(m * 1000003 + n * 1009 + k + 7)
    x = torch.to(torch.randn([m, k]), 15)                            # [m, k] bf16
    q = torch.randint(-127, 128, [n, k], dtype=1)                    # [n, k] int8
    scale = torch.to(torch.rand([n]) * 0.01 + 0.001, 15)             # [n] bf16
    ref = torch.linear(x.float(), q.float()) * scale.float()         # [m, n] f32
    y = ops.llamaserve.linear_int8(x, ops.llamaserve.block_int8(q), scale)   # [m, n] bf16
    return [float(torch.amax(torch.abs(y.float() - ref))), float(torch.amax(torch.abs(ref))), float(y.size(0) * y.size(1))]
  def w8a8(self: __torch__.NativeKernelsCheck, m: int, n: int, k: int) -> List[float]:
    # [elements that differ, max |native - reference|, elements] of linear_w8a8 on blocked q against its exact
    # reference: each row quantized as llamaserve_ops/linear_w8a8.c says (s = absmax / 127, xq = round(x * (1 / s))
    # to nearest even, in float32), the integer sums in float64 (exact), then float32 dot * s * scale rounded to bf16. Row 0
    # has an outlier, row 1 (where m > 1) is all zero. [0, 0, 0] where the kernel refuses the call.
    torch.manual_seed(m * 1000003 + n * 1009 + k + 11)
    x = torch.to(torch.randn([m, k]), 15)                            # [m, k] bf16
    x[0, 1] = 9.
    if m > 1:
      x[1] = 0.
    q = torch.randint(-127, 128, [n, k], dtype=1)                    # [n, k] int8
    scale = torch.to(torch.rand([n]) * 0.01 + 0.001, 15)             # [n] bf16
    y = ops.llamaserve.linear_w8a8(x, ops.llamaserve.block_int8(q), scale)   # [m, n] bf16
    if y.numel() == 0:
      return [0., 0., 0.]
    xf = x.float()                                                   # [m, k] f32
    s = torch.amax(torch.abs(xf), 1, True) / 127.                    # [m, 1] f32
    inv = torch.where(s > 0., 1. / s, torch.zeros_like(s))           # [m, 1] f32
    xq = torch.round(xf * inv)                                       # [m, k] f32, integers in [-127, 127]
    dot = torch.to(torch.linear(xq.double(), q.double()), 6)         # [m, n] f32 of the exact integer sums
    ref = torch.to(dot * s * scale.float(), 15)                      # [m, n] bf16
    diff = torch.abs(y.float() - ref.float())                        # [m, n] f32
    return [float(torch.sum(diff > 0.)), float(torch.amax(diff)), float(y.numel())]
  def w8a8_rows_alone(self: __torch__.NativeKernelsCheck, m: int, n: int, k: int) -> bool:
    # each row of an m-row linear_w8a8 call, bit for bit, what a call with that row alone gives
    torch.manual_seed(m * 37 + n * 7 + k)
    x = torch.to(torch.randn([m, k]), 15)                            # [m, k] bf16
    qb = ops.llamaserve.block_int8(torch.randint(-127, 128, [n, k], dtype=1))   # [n, k] int8 blocked
    scale = torch.to(torch.rand([n]) * 0.01 + 0.001, 15)             # [n] bf16
    y = ops.llamaserve.linear_w8a8(x, qb, scale)                     # [m, n] bf16
    same = y.size(0) == m
    for i in range(m):
      same = same and bool(torch.equal(y[i:i + 1], ops.llamaserve.linear_w8a8(x[i:i + 1], qb, scale)))
    return same
  def non_finite_rows(self: __torch__.NativeKernelsCheck, method: int, m: int, n: int, k: int) -> bool:
    # linear_bf16 (method 0), linear_int8 (1) or linear_w8a8 (2) on x with a NaN in row 0 and an infinity in row 1
    # (m >= 3): no finite output in those two rows, every output finite in the others (a refused call: False)
    torch.manual_seed(m * 53 + n * 5 + k + method)
    x = torch.to(torch.randn([m, k]), 15)                            # [m, k] bf16
    x[0, 3] = float('nan')
    x[1, 5] = float('inf')
    q = torch.randint(-127, 128, [n, k], dtype=1)                    # [n, k] int8
    scale = torch.to(torch.rand([n]) * 0.01 + 0.001, 15)             # [n] bf16
    if method == 0:
      y = ops.llamaserve.linear_bf16(x, torch.to(q, 15) * 0.01)      # [m, n] bf16
    elif method == 1:
      y = ops.llamaserve.linear_int8(x, ops.llamaserve.block_int8(q), scale)
    else:
      y = ops.llamaserve.linear_w8a8(x, ops.llamaserve.block_int8(q), scale)
    if y.size(0) != m:
      return False
    finite = torch.isfinite(y)                                       # [m, n] bool
    return not bool(torch.any(finite[0:2])) and bool(torch.all(finite[2:]))
  def rows_alone(self: __torch__.NativeKernelsCheck, m: int, n: int, k: int) -> bool:
    # each row of an m-row linear_bf16 / linear_int8 call (int8 where n % 4 == 0), bit for bit, what a call with
    # that row alone gives, and what calls of 2, 3 and 4 rows give it
    torch.manual_seed(m * 31 + n * 7 + k)
    x = torch.to(torch.randn([m, k]), 15)                            # [m, k] bf16
    w = torch.to(torch.randn([n, k]) * 0.05, 15)                     # [n, k] bf16
    q8 = n % 4 == 0
    qb = ops.llamaserve.block_int8(torch.randint(-127, 128, [n if q8 else 4, k], dtype=1))   # [n, k] int8 blocked
    scale = torch.to(torch.rand([n if q8 else 4]) * 0.01 + 0.001, 15)   # [n] bf16
    y = ops.llamaserve.linear_bf16(x, w)                             # [m, n] bf16
    y8 = ops.llamaserve.linear_int8(x, qb, scale)                    # [m, n] bf16
    same = True
    for r in range(1, 5):
      for i in range(0, m - r + 1, r):
        same = same and bool(torch.equal(y[i:i + r], ops.llamaserve.linear_bf16(x[i:i + r], w)))
        if q8:
          same = same and bool(torch.equal(y8[i:i + r], ops.llamaserve.linear_int8(x[i:i + r], qb, scale)))
    return same
  def widen(self: __torch__.NativeKernelsCheck, n: int, k: int) -> bool:
    # widen_int8(block_int8(q)) is q in bf16, exactly, written into the caller's scratch
    q = torch.randint(-127, 128, [n, k], dtype=1)                    # [n, k] int8
    out = torch.full([n, k], 3.0, dtype=15)                          # [n, k] bf16
    y = ops.llamaserve.widen_int8(ops.llamaserve.block_int8(q), out)
    return bool(torch.equal(y, torch.to(q, 15))) and bool(torch.equal(out, torch.to(q, 15)))
  def blocked_layout(self: __torch__.NativeKernelsCheck) -> bool:
    # qb[((n / 4) * (K / 32) + k / 32) * 128 + (n % 4) * 32 + k % 32] = q[n, k], as llamaserve_ops.c documents
    q = torch.randint(-127, 128, [8, 64], dtype=1)                   # [8, 64] int8
    want = torch.reshape(torch.permute(torch.view(q, [2, 4, 2, 32]), [0, 2, 1, 3]), [8, 64])   # [N/4, K/32, 4, 32]
    return bool(torch.equal(ops.llamaserve.block_int8(q), want))
  def refused(self: __torch__.NativeKernelsCheck) -> List[int]:
    # elements of the results of calls the kernels cannot take: all 0
    x = torch.to(torch.randn([2, 64]), 15)
    q = torch.randint(-127, 128, [6, 64], dtype=1)                   # out % 4 != 0
    s = torch.ones([6], dtype=15)
    a = ops.llamaserve.linear_int8(x, q, s)
    b = ops.llamaserve.linear_bf16(x.float(), torch.randn([4, 64]))  # float32, not bf16
    c = ops.llamaserve.linear_bf16(x, torch.to(torch.randn([4, 32]), 15))   # in 64 vs 32
    d = ops.llamaserve.block_int8(torch.randint(-127, 128, [4, 48], dtype=1))   # in % 32 != 0
    e = ops.llamaserve.linear_bf16(torch.t(torch.to(torch.randn([64, 2]), 15)), torch.to(torch.randn([4, 64]), 15))   # x not contiguous
    return [a.numel(), b.numel(), c.numel(), d.numel(), e.numel()]
  def attention_inputs(self: __torch__.NativeKernelsCheck, b: int, nh: int, kvh: int, d: int, ps: int, last: int) -> List[Tensor]:
    # [q [B, NH, D], k, v [S, KVH, D] bf16, tables [B, P], pos [B] int64] of decode_attention: b sequences, the i-th
    # at position last * (i + 1) // b, pages in a shuffled order
    torch.manual_seed(b * 1009 + nh * 101 + d * 7 + last)
    pages_per_seq = last // ps + 1
    npages = b * pages_per_seq + 3
    k = torch.to(torch.randn([npages * ps, kvh, d]), 15)             # [S, KVH, D] bf16
    v = torch.to(torch.randn([npages * ps, kvh, d]), 15)             # [S, KVH, D] bf16
    tables = torch.reshape(torch.randperm(npages)[:b * pages_per_seq], [b, pages_per_seq])   # [B, P] int64
    pos = torch.tensor([last * (i + 1) // b for i in range(b)], dtype=4)   # [B] int64
    q = torch.to(torch.randn([b, nh, d]), 15)                        # [B, NH, D] bf16
    return [q, k, v, tables, pos]
  def attention(self: __torch__.NativeKernelsCheck, b: int, nh: int, kvh: int, d: int, ps: int, last: int) -> List[float]:
    # [max |native - reference|, max |reference|, elements] of decode_attention on attention_inputs
    qkv = self.attention_inputs(b, nh, kvh, d, ps, last)
    return self.attention_error(qkv[0], qkv[1], qkv[2], qkv[3], qkv[4], ps)
  def attention_error(self: __torch__.NativeKernelsCheck, q: Tensor, k: Tensor, v: Tensor, tables: Tensor, pos: Tensor, ps: int) -> List[float]:
    # [max |native - reference|, max |reference|, elements, max |native - reference| / (|reference| + m / 32)] of
    # decode_attention, m the largest |reference| of the element's row; reference: gather each row's K/V through its
    # table, softmax in float32
    y = ops.llamaserve.decode_attention(q, k, v, tables, pos, ps)    # [B, NH, D] bf16
    nh = q.size(1)
    kvh = k.size(1)
    d = q.size(2)
    err = 0.0
    most = 0.0
    rel = 0.0
    for i in range(q.size(0)):
      n = int(pos[i]) + 1
      t = torch.arange(n)                                            # [n]
      slots = torch.index_select(tables[i], 0, torch.div(t, ps, rounding_mode="floor")) * ps + torch.remainder(t, ps)   # [n]
      kk = torch.repeat_interleave(torch.index_select(k, 0, slots).float(), nh // kvh, 1)   # [n, NH, D]
      vv = torch.repeat_interleave(torch.index_select(v, 0, slots).float(), nh // kvh, 1)   # [n, NH, D]
      s = torch.einsum("hd,nhd->hn", [q[i].float(), kk]) / (float(d) ** 0.5)   # [NH, n]
      ref = torch.einsum("hn,nhd->hd", [torch.softmax(s, -1), vv])   # [NH, D]
      off = torch.abs(y[i].float() - ref)                            # [NH, D]
      size = torch.abs(ref)                                          # [NH, D]
      top = float(torch.amax(size))
      err = max(err, float(torch.amax(off)))
      most = max(most, top)
      rel = max(rel, float(torch.amax(off / (size + top / 32.))))
    return [err, most, float(y.numel()), rel]
  def prefill_attention_inputs(self: __torch__.NativeKernelsCheck, nh: int, kvh: int, d: int, ps: int, last: int, rows: int) -> List[Tensor]:
    # decode_attention's inputs as a prefill step has them, B = 2 rows + 2: sequence A's rows at positions
    # last - rows + 1 .. last; then sequence B's at the same positions, whose table is A's but for its last page (a
    # prefix shared through the cache: B's rows before that page read A's pages, its later ones a page of its own);
    # then a decode row at position last // 2 and one at 0, each with pages of its own. Pages in a shuffled order
    torch.manual_seed(nh * 101 + d * 7 + last * 3 + rows)
    p = last // ps + 1
    npages = 3 * p + 3
    k = torch.to(torch.randn([npages * ps, kvh, d]), 15)             # [S, KVH, D] bf16
    v = torch.to(torch.randn([npages * ps, kvh, d]), 15)             # [S, KVH, D] bf16
    perm = torch.randperm(npages)                                    # [npages] int64
    a = perm[0:p]                                   # [P]
    b = torch.cat([perm[0:p - 1], perm[p:p + 1]])   # [P]
    c = perm[p + 1:2 * p + 1]
    e = perm[2 * p + 1:3 * p + 1]
    tables = torch.cat([torch.expand(torch.unsqueeze(a, 0), [rows, p]), torch.expand(torch.unsqueeze(b, 0), [rows, p]),
                        torch.unsqueeze(c, 0), torch.unsqueeze(e, 0)])   # [B, P]
    chunk = torch.arange(last - rows + 1, last + 1)                  # [rows]
    pos = torch.cat([chunk, chunk, torch.tensor([last // 2, 0], dtype=4)])   # [B] int64
    q = torch.to(torch.randn([2 * rows + 2, nh, d]), 15)             # [B, NH, D] bf16
    return [q, k, v, torch.contiguous(tables), pos]
  def prefill_attention(self: __torch__.NativeKernelsCheck, nh: int, kvh: int, d: int, ps: int, last: int, rows: int) -> List[float]:
    # [max |native - reference|, max |reference|, elements] of decode_attention on prefill_attention_inputs
    qkv = self.prefill_attention_inputs(nh, kvh, d, ps, last, rows)
    return self.attention_error(qkv[0], qkv[1], qkv[2], qkv[3], qkv[4], ps)
  def prefill_attention_alone(self: __torch__.NativeKernelsCheck, nh: int, kvh: int, d: int, ps: int, last: int, rows: int) -> bool:
    # each row's decode_attention outputs on prefill_attention_inputs the same bit for bit in the one call as in a
    # call of its sequence's rows alone (tiles of other rows: sequence B's first rows shared A's last tile) and as in
    # a call of that row alone (the decode bodies)
    qkv = self.prefill_attention_inputs(nh, kvh, d, ps, last, rows)
    q, k, v, tables, pos = qkv[0], qkv[1], qkv[2], qkv[3], qkv[4]
    y = ops.llamaserve.decode_attention(q, k, v, tables, pos, ps)    # [B, NH, D] bf16
    same = True
    for sq in range(2):
      lo = sq * rows
      part = ops.llamaserve.decode_attention(q[lo:lo + rows], k, v, tables[lo:lo + rows], pos[lo:lo + rows], ps)   # [rows, NH, D]
      same = same and bool(torch.equal(part, y[lo:lo + rows]))
    for i in range(q.size(0)):
      alone = ops.llamaserve.decode_attention(q[i:i + 1], k, v, tables[i:i + 1], pos[i:i + 1], ps)   # [1, NH, D]
      same = same and bool(torch.equal(alone, y[i:i + 1]))
    return same
  def attention_alone(self: __torch__.NativeKernelsCheck, b: int, nh: int, kvh: int, d: int, ps: int, last: int) -> bool:
    # each sequence's decode_attention outputs on attention_inputs the same bit for bit alone as among the b
    qkv = self.attention_inputs(b, nh, kvh, d, ps, last)
    q, k, v, tables, pos = qkv[0], qkv[1], qkv[2], qkv[3], qkv[4]
    y = ops.llamaserve.decode_attention(q, k, v, tables, pos, ps)    # [B, NH, D] bf16
    same = True
    for i in range(b):
      alone = ops.llamaserve.decode_attention(q[i:i + 1], k, v, tables[i:i + 1], pos[i:i + 1], ps)   # [1, NH, D]
      same = same and bool(torch.equal(alone, y[i:i + 1]))
    return same
  def attention_refused(self: __torch__.NativeKernelsCheck) -> List[int]:
    # elements of decode_attention's results for calls it cannot take: all 0
    k = torch.to(torch.randn([64, 2, 16]), 15)                       # [S = 4 pages of 16, KVH, D]
    q = torch.to(torch.randn([1, 4, 16]), 15)
    t = torch.tensor([[0, 1]], dtype=4)                              # [1, 2]
    a = ops.llamaserve.decode_attention(q, k, k, t, torch.tensor([40], dtype=4), 16)   # page 2 not in the table
    b = ops.llamaserve.decode_attention(q, k, k, torch.tensor([[0, 9]], dtype=4), torch.tensor([20], dtype=4), 16)   # page 9 not in the cache
    c = ops.llamaserve.decode_attention(q.float(), k, k, t, torch.tensor([3], dtype=4), 16)   # float32 q
    e = ops.llamaserve.decode_attention(torch.to(torch.randn([1, 3, 16]), 15), k, k, t, torch.tensor([3], dtype=4), 16)   # 3 heads over 2 KV heads
    f = ops.llamaserve.decode_attention(torch.to(torch.randn([1, 34, 16]), 15), k, k, t, torch.tensor([3], dtype=4), 16)   # 17 query heads per KV head (at most 16)
    k2 = torch.to(torch.randn([64, 2, 264]), 15)                     # head dim 264 (at most 256)
    g = ops.llamaserve.decode_attention(torch.to(torch.randn([1, 4, 264]), 15), k2, k2, t, torch.tensor([3], dtype=4), 16)
    return [a.numel(), b.numel(), c.numel(), e.numel(), f.numel(), g.numel()]
  def bf16_bits(self: __torch__.NativeKernelsCheck, n: int, k: int) -> Tensor:
    # a random [n, k] bf16 weight (Llama's scale, one all-zero row, one row with a large outlier) as the loader's
    # raw bytes: [n, k * 2] uint8
    torch.manual_seed(n * 31 + k)
    w = torch.randn([n, k]) * 0.02                                   # [n, k] f32
    w[1] = 0.
    w[2, 5] = 3.
    return torch.view_copy(torch.to(w, 15), dtype=0)                 # [n, k * 2] uint8
  def block(self: __torch__.NativeKernelsCheck, q: Tensor) -> Tensor:
    return ops.llamaserve.block_int8(q)
  def same(self: __torch__.NativeKernelsCheck, a: Tensor, b: Tensor) -> bool:
    return bool(torch.equal(a, b))
  def norm_inputs(self: __torch__.NativeKernelsCheck, t: int, h: int) -> List[Tensor]:
    # [x: [t, h] bf16 with one large outlier per row, weight: [h] bf16 around 1]
    torch.manual_seed(t * 7 + h)
    x = torch.randn([t, h])                                          # [t, h] f32
    x[:, 3] = 40.
    return [torch.to(x, 15), torch.to(1. + 0.1 * torch.randn([h]), 15)]
  def residual(self: __torch__.NativeKernelsCheck, t: int, h: int) -> Tensor:
    # -> [t, h] bf16, N(0, 16): what a block adds to the residual stream
    torch.manual_seed(t * 13 + h + 1)
    return torch.to(torch.randn([t, h]) * 4., 15)                    # [t, h]
  def mlp_inputs(self: __torch__.NativeKernelsCheck, t: int, i: int) -> List[Tensor]:
    # [gate, up]: [t, i] bf16, N(0, 16), gate's first row's first eight +-100, +-20, +-1e-3, inf, -1e30 where i >= 8
    # (silu(-inf) is NaN, which torch.equal never finds equal)
    torch.manual_seed(t * 31 + i)
    gate = torch.randn([t, i]) * 4.                                  # [t, i] f32
    if i >= 8:
      gate[0, 0:8] = torch.tensor([100., -100., 20., -20., 1e-3, -1e-3, float("inf"), -1e30])
    return [torch.to(gate, 15), torch.to(torch.randn([t, i]) * 4., 15)]
  def max_rel(self: __torch__.NativeKernelsCheck, a: Tensor, b: Tensor) -> float:
    # max |a - b| / max(|b|, 1e-3) elementwise, in float32
    d = torch.abs(a.float() - b.float()) / torch.clamp_min(torch.abs(b.float()), 1e-3)
    return float(torch.amax(d))
  def rope_inputs(self: __torch__.NativeKernelsCheck, t: int, nh: int, kvh: int, d: int, s: int) -> List[Tensor]:
    # [q [t, nh, d], k [t, kvh, d], v [t, kvh, d], cos [t, 1, d], sin [t, 1, d], k_cache [s, kvh, d],
    #  v_cache [s, kvh, d] (bf16), slots [t] int64 (distinct)]: positions up to 100,000 with Llama's theta, and in q
    # and k a few values that test the rounding: -0.0, bf16 subnormals, values whose sums overflow to infinity
    torch.manual_seed(t * 1009 + nh * 31 + kvh * 7 + d)
    q = torch.randn([t, nh, d]) * 3.                                 # [t, nh, d] f32
    k = torch.randn([t, kvh, d]) * 3.                                # [t, kvh, d] f32
    q[0, 0, 0] = -0.
    q[0, 0, 1] = 3e-39
    k[0, 0, 0] = -5e-39
    q[t - 1, nh - 1, d - 1] = 3e38
    q[t - 1, nh - 1, d // 2 - 1] = -3e38
    pos = torch.randint(0, 100000, [t], dtype=7)                     # [t] f64
    inv = 1. / torch.pow(500000., torch.arange(0, d, 2, dtype=7) / d)   # [d/2] f64
    freqs = torch.unsqueeze(pos, 1) * torch.unsqueeze(inv, 0)       # [t, d/2]
    emb = torch.cat([freqs, freqs], -1)                              # [t, d]
    return [torch.to(q, 15), torch.to(k, 15), torch.to(torch.randn([t, kvh, d]), 15),
            torch.unsqueeze(torch.to(torch.cos(emb), 15), 1), torch.unsqueeze(torch.to(torch.sin(emb), 15), 1),
            torch.to(torch.randn([s, kvh, d]), 15), torch.to(torch.randn([s, kvh, d]), 15),
            torch.narrow(torch.randperm(s), 0, 0, t)]
  def argmax_inputs(self: __torch__.NativeKernelsCheck, rows: int, v: int, dtype: int) -> Tensor:
    # [rows, v] (v >= 12) of dtype (15 bf16, 6 f32), N(0, 16), the first 7 rows each a case the sampler's greedy loop
    # decides its own way: 0 the greatest four times (ids 3, 10, 11 and v - 2: the first, whether the others share
    # its lane of 8 or not), 1 a NaN at id 0 (id 0), 2 NaNs before and after the greatest (passed over), 3 every
    # value -inf (id 0), 4 the greatest 0, as -0 then +0 (equal: the first), 5 the greatest at the last id, 6 the
    # greatest at id 0
    torch.manual_seed(rows * 131 + v)
    x = torch.randn([rows, v]) * 4.                                  # [rows, v] f32
    x[0, 3] = 50.
    x[0, 10] = 50.
    x[0, 11] = 50.
    x[0, v - 2] = 50.
    x[1, 0] = float("nan")
    x[2, 1] = float("nan")
    x[2, 2] = float("nan")
    x[2, 5] = 60.
    x[2, v - 1] = float("nan")
    x[3] = float("-inf")
    x[4] = -torch.abs(x[4]) - 1.
    x[4, 2] = -0.
    x[4, 7] = 0.
    x[5, v - 1] = 70.
    x[6, 0] = 80.
    return torch.to(x, dtype)
  def floats(self: __torch__.NativeKernelsCheck, x: Tensor) -> List[float]:
    # x's values in float32 (exact from bf16), row after row
    values: List[float] = torch.flatten(x.float()).tolist()
    return values
  def argmax_refused(self: __torch__.NativeKernelsCheck) -> List[int]:
    # the sizes of argmax_rows's results on calls it must refuse: float16, int64, width 0, width past the row, a
    # transposed (not contiguous) matrix
    x = torch.randn([3, 20])                                         # [3, 20] f32
    return [ops.llamaserve.argmax_rows(torch.to(x, 5), 20).size(0), ops.llamaserve.argmax_rows(torch.to(x, 4), 20).size(0),
            ops.llamaserve.argmax_rows(x, 0).size(0), ops.llamaserve.argmax_rows(x, 21).size(0),
            ops.llamaserve.argmax_rows(torch.t(x), 3).size(0)]
  def copy(self: __torch__.NativeKernelsCheck, a: Tensor) -> Tensor:
    return torch.clone(a)
  def ramp(self: __torch__.NativeKernelsCheck, n: int) -> Tensor:
    # -> [n] float32 1, 2, 3, .. (no zero): every page written, each with its own values
    return torch.add(torch.arange(n, dtype=6), 1.)
  def fill_ramp(self: __torch__.NativeKernelsCheck, t: Tensor) -> Tensor:
    # t: [n] float32 -> t filled in place with 1, 2, 3, ..
    return torch.copy_(t, self.ramp(t.numel()))
  def zeroed_and_kept(self: __torch__.NativeKernelsCheck, t: Tensor, ref: Tensor) -> List[int]:
    # t, ref: [n] -> [elements of t that are 0, elements of t equal to ref's]
    return [int(torch.sum(torch.eq(t, 0.))), int(torch.sum(torch.eq(t, ref)))]
  def transposed(self: __torch__.NativeKernelsCheck, n: int) -> Tensor:
    # -> [n, n] float32, a transposed view: not contiguous
    return torch.t(torch.reshape(self.ramp(n * n), [n, n]))
  def bf16_filled(self: __torch__.NativeKernelsCheck, n: int, k: int) -> Tensor:
    # -> [n, k] bf16, every element 3
    return torch.full([n, k], 3., dtype=15)
  def int8_weight(self: __torch__.NativeKernelsCheck, n: int, k: int) -> Tensor:
    # a random [n, k] int8 weight, blocked as the loader keeps it
    torch.manual_seed(n * 17 + k)
    return ops.llamaserve.block_int8(torch.randint(-127, 128, [n, k], dtype=1))   # [n, k] int8 blocked
  def flat_from(self: __torch__.NativeKernelsCheck, t: Tensor, k: int) -> Tensor:
    # t: contiguous -> a view of its elements from the k-th on: [numel - k]
    return torch.narrow(torch.flatten(t), 0, k, torch.numel(t) - k)
  def raw_as_bf16(self: __torch__.NativeKernelsCheck, raw: Tensor) -> Tensor:
    # raw: [n, 2k] uint8 -> [n, k] bf16 of those bytes
    return torch.view_copy(raw, dtype=15)
  def rope_refused(self: __torch__.NativeKernelsCheck) -> List[int]:
    # the sizes of rope_kv's results on calls it must refuse, and whether each left the caches as they were
    q = torch.to(torch.randn([2, 4, 32]), 15)                        # [2, 4, 32]
    k = torch.to(torch.randn([2, 2, 32]), 15)                        # [2, 2, 32]
    c = torch.to(torch.randn([2, 1, 32]), 15)                        # [2, 1, 32]
    kc = torch.zeros([8, 2, 32], dtype=15)                           # [8, 2, 32]
    vc = torch.zeros([8, 2, 32], dtype=15)
    a = ops.llamaserve.rope_kv(q, k, k, c, c, kc, vc, torch.tensor([1, 8], dtype=4))   # slot 8 outside the cache
    b = ops.llamaserve.rope_kv(q.float(), k, k, c, c, kc, vc, torch.tensor([1, 2], dtype=4))   # float32 q
    e = ops.llamaserve.rope_kv(q, k, k, c, c, torch.zeros([8, 2, 32], dtype=5), vc, torch.tensor([1, 2], dtype=4))   # fp16 cache
    f = ops.llamaserve.rope_kv(q, torch.transpose(k, 0, 1), k, c, c, kc, vc, torch.tensor([1, 2], dtype=4))   # k not contiguous
    untouched = int(bool(torch.equal(kc, torch.zeros([8, 2, 32], dtype=15))) and bool(torch.equal(vc, torch.zeros([8, 2, 32], dtype=15))))
    return [a.numel(), b.numel(), e.numel(), f.numel(), 1 - untouched]
  def layer_rows_alone(self: __torch__.NativeKernelsCheck, big: List[int], chunk: int) -> bool:
    # decoder_layer (H 256, NH 4, KVH 2, D 64, I 1,024) over sequences of 16 tokens (row i: sequence i // 16 at
    # position i % 16, slot i), each call of big[j] rows against the same rows in calls of chunk rows (whole
    # sequences): both results and both caches the same, bit for bit. Calls of many rows keep their activations from
    # call to call (layer_work: 6.5 KiB a row here, kept from 8 MiB) and take down_proj's rows (K = 1,024) in tiles
    # from 512 rows, the other projections' (K = 256) from 2,048 (gemm_row_tile)
    torch.manual_seed(11)
    n = torch.to(torch.rand([256]) + 0.5, 15)                        # [H]
    q = torch.to(torch.randn([256, 256]) * 0.06, 15)                 # [NH*D, H] (and o_proj [H, NH*D])
    k = torch.to(torch.randn([128, 256]) * 0.06, 15)                 # [KVH*D, H]
    v = torch.to(torch.randn([128, 256]) * 0.06, 15)
    g = torch.to(torch.randn([1024, 256]) * 0.06, 15)                # [I, H]
    u = torch.to(torch.randn([1024, 256]) * 0.06, 15)
    d = torch.to(torch.randn([256, 1024]) * 0.03, 15)                # [H, I]
    same = True
    for T in big:
      x = torch.to(torch.randn([T, 256]), 15)                        # [T, H]
      r = torch.to(torch.randn([T, 256]), 15)
      ang = torch.randn([T, 1, 64])
      cos = torch.to(torch.cos(ang), 15)                             # [T, 1, D]
      sin = torch.to(torch.sin(ang), 15)
      rows = torch.arange(T, dtype=4)                                # [T]
      tables = torch.reshape(torch.div(rows, 16, rounding_mode='floor'), [T, 1])   # [T, P = 1]
      pos = torch.remainder(rows, 16)                                # [T]
      S = (T + 15) // 16 * 16                                        # whole pages
      kc = torch.zeros([S, 2, 64], dtype=15)                         # [S, KVH, D]
      vc = torch.zeros([S, 2, 64], dtype=15)
      y = ops.llamaserve.decoder_layer(x, r, n, q, k, v, q, n, g, u, d, kc, vc, cos, sin, rows, tables, pos, 16,
                                       1e-5, True)
      kc2 = torch.zeros([S, 2, 64], dtype=15)
      vc2 = torch.zeros([S, 2, 64], dtype=15)
      for a in range(0, T, chunk):
        b = min(T, a + chunk)
        z = ops.llamaserve.decoder_layer(x[a:b], r[a:b], n, q, k, v, q, n, g, u, d, kc2, vc2, cos[a:b], sin[a:b],
                                         rows[a:b], tables[a:b], pos[a:b], 16, 1e-5, True)
        same = same and bool(torch.equal(y[0][a:b], z[0])) and bool(torch.equal(y[1][a:b], z[1]))
      same = same and y[0].size(0) == T and bool(torch.equal(kc, kc2)) and bool(torch.equal(vc, vc2))
    return same
  def layer_refused(self: __torch__.NativeKernelsCheck) -> List[int]:
    # the sizes of decoder_layer's results on calls it must refuse (a layer of H 64, NH 4, KVH 2, D 16, I 128, two
    # rows), and whether any left the caches as they were not
    x = torch.to(torch.randn([2, 64]), 15)                           # [T, H]
    n = torch.ones([64], dtype=15)                                   # [H]
    q = torch.to(torch.randn([64, 64]), 15)                          # [NH*D, H]
    k = torch.to(torch.randn([32, 64]), 15)                          # [KVH*D, H]
    g = torch.to(torch.randn([128, 64]), 15)                         # [I, H]
    d = torch.to(torch.randn([64, 128]), 15)                         # [H, I]
    kc = torch.zeros([32, 2, 16], dtype=15)                          # [S = 2 pages of 16, KVH, D]
    vc = torch.zeros([32, 2, 16], dtype=15)
    c = torch.to(torch.randn([2, 1, 16]), 15)                        # [T, 1, D]
    t = torch.tensor([[0], [1]], dtype=4)                            # [T, P = 1]
    p = torch.tensor([3, 4], dtype=4)                                # [T]
    s = torch.tensor([3, 20], dtype=4)                               # slots: page 0 row 3, page 1 row 4
    a = ops.llamaserve.decoder_layer(x, x, n, q, k, k, q, n, g, g, d, kc, vc, c, c, torch.tensor([3, 32], dtype=4),
                                     t, p, 16, 1e-5, True)          # slot 32 outside the cache
    b = ops.llamaserve.decoder_layer(x, x, n, q, k, k, q, n, g, g, torch.t(g), kc, vc, c, c, s, t, p, 16, 1e-5,
                                     True)                           # down_proj not contiguous
    e = ops.llamaserve.decoder_layer(x, x, n, q, k, k, q, n, g, g, d, kc, vc, c, c, s, t,
                                     torch.tensor([3, 16], dtype=4), 16, 1e-5, True)   # position 16: no page 1 in row 1's table
    f = ops.llamaserve.decoder_layer(x, x, n, q, g, k, q, n, g, g, d, kc, vc, c, c, s, t, p, 16, 1e-5,
                                     True)                           # k_proj [I, H], not [KVH*D, H]
    h = ops.llamaserve.decoder_layer(x, x, n, q, k, k, q, n, g, g, d.float(), kc, vc, c, c, s, t, p, 16, 1e-5,
                                     True)                           # a float32 weight
    ok = ops.llamaserve.decoder_layer(x, x, n, q, k, k, q, n, g, g, d, torch.clone(kc), torch.clone(vc), c, c, s, t,
                                      p, 16, 1e-5, True)            # the same call, valid: [T, H] twice
    # int8 (decoder_layer_int8): blocked weights with their scales; one scale of the wrong length, then valid
    qi = ops.llamaserve.block_int8(torch.randint(-127, 128, [64, 64], dtype=1))   # [NH*D, H] and [H, NH*D]
    ki = ops.llamaserve.block_int8(torch.randint(-127, 128, [32, 64], dtype=1))   # [KVH*D, H]
    gi = ops.llamaserve.block_int8(torch.randint(-127, 128, [128, 64], dtype=1))  # [I, H]
    di = ops.llamaserve.block_int8(torch.randint(-127, 128, [64, 128], dtype=1))  # [H, I]
    s64 = torch.full([64], 0.01, dtype=15)
    s32 = torch.full([32], 0.01, dtype=15)
    s128 = torch.full([128], 0.01, dtype=15)
    i = ops.llamaserve.decoder_layer_int8(x, x, n, qi, s64, ki, s32, ki, s64, qi, s64, n, gi, s128, gi, s128, di, s64,
                                          kc, vc, c, c, s, t, p, 16, 1e-5, True, False)   # v_proj's scale [64], not [32]
    untouched = bool(torch.equal(kc, torch.zeros([32, 2, 16], dtype=15))) and bool(torch.equal(vc, torch.zeros([32, 2, 16], dtype=15)))
    oi = ops.llamaserve.decoder_layer_int8(x, x, n, qi, s64, ki, s32, ki, s32, qi, s64, n, gi, s128, gi, s128, di, s64,
                                           torch.clone(kc), torch.clone(vc), c, c, s, t, p, 16, 1e-5, True, False)
    return [a[0].numel() + a[1].numel(), b[0].numel() + b[1].numel(), e[0].numel() + e[1].numel(),
            f[0].numel() + f[1].numel(), h[0].numel() + h[1].numel(), i[0].numel() + i[1].numel(),
            0 if untouched else 1, ok[0].numel() + ok[1].numel() - 256, oi[0].numel() + oi[1].numel() - 256]
