class NativeKernelsCheck(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  def isa(self: __torch__.NativeKernelsCheck, force: int) -> int:
    return ops.llamaserve.isa(force)
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
