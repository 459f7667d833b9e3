class Int8Kernels(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  def weights(self: __torch__.Int8Kernels, n: int, rows: int, cols: int, dtype: int) -> List[Tensor]:
    # -> n x [rows, cols] ~ N(0, 0.02) in dtype, the scale of Llama's linear weights
    ws = annotate(List[Tensor], [])
    for i in range(n):
      ws.append(torch.to(torch.randn([rows, cols]) * 0.02, dtype))
    return ws
  def raw(self: __torch__.Int8Kernels, w: Tensor) -> Tensor:
    # w: [out, in] bf16 -> [out, in * 2] uint8, as the loader hands checkpoint bytes to to_int8
    return torch.view_copy(w, dtype=0)
  def bf16_packed(self: __torch__.Int8Kernels, ws: List[Tensor], hint: int) -> List[Tensor]:
    # each [out, in] bf16 -> oneDNN's blocked layout (llm.model.packed-weights)
    out = annotate(List[Tensor], [])
    for w in ws:
      out.append(ops.mkldnn._reorder_linear_weight(w, hint))
    return out
  def onednn_w8a8(self: __torch__.Int8Kernels, qs: List[Tensor]) -> List[Tensor]:
    # [q, scale, q, scale, ...] -> [packed q, f32 scale, zero points, ...] for onednn::qlinear_pointwise
    out = annotate(List[Tensor], [])
    for i in range(len(qs) // 2):
      out.append(ops.onednn.qlinear_prepack(qs[2 * i], [1, qs[2 * i].size(1)]))
      out.append(qs[2 * i + 1].float())
      out.append(torch.zeros([qs[2 * i].size(0)], dtype=4))
    return out
  def bf16_onednn(self: __torch__.Int8Kernels, x: Tensor, ws: List[Tensor], reps: int) -> Tensor:
    # x: [M, K] bf16; ws: [N, K] bf16, plain or packed -> [M, N] (the step's modes 4 and packed)
    y = x
    for r in range(reps):
      for w in ws:
        y = ops.mkldnn._linear_pointwise(x, w, None, "none", annotate(List[Optional[number]], []), "")
    return y
  def int8_pack(self: __torch__.Int8Kernels, x: Tensor, qs: List[Tensor], reps: int) -> Tensor:
    # x: [M, K] bf16; q: [N, K] int8, scale [N] bf16 -> [M, N] (the step's mode 3)
    y = x
    for r in range(reps):
      for i in range(len(qs) // 2):
        y = torch._weight_int8pack_mm(x, qs[2 * i], qs[2 * i + 1])
    return y
  def bf16_plain(self: __torch__.Int8Kernels, x: Tensor, ws: List[Tensor], reps: int) -> Tensor:
    # torch.linear on the plain bf16 weight (the step's default above one row without packed weights)
    y = x
    for r in range(reps):
      for w in ws:
        y = torch.linear(x, w)
    return y
  def native_bf16(self: __torch__.Int8Kernels, x: Tensor, ws: List[Tensor], reps: int) -> Tensor:
    # llama-serve's kernel (NativeKernels): x [M, K] bf16, ws [N, K] bf16 -> [M, N] (the step's mode 6)
    y = x
    for r in range(reps):
      for w in ws:
        y = ops.llamaserve.linear_bf16(x, w)
    return y
  def native_threads(self: __torch__.Int8Kernels) -> int:
    return ops.llamaserve.threads()
  def native_blocked(self: __torch__.Int8Kernels, qs: List[Tensor]) -> List[Tensor]:
    # [q, scale, ...] -> [blocked q, scale, ...] as the model keeps them for native_int8
    out = annotate(List[Tensor], [])
    for i in range(len(qs) // 2):
      out.append(ops.llamaserve.block_int8(qs[2 * i]))
      out.append(qs[2 * i + 1])
    return out
  def native_widen(self: __torch__.Int8Kernels, x: Tensor, qs: List[Tensor], reps: int) -> Tensor:
    # blocked int8 widened by llamaserve::widen_int8 into one reused scratch, scale on the output (the step's mode 7)
    scratch = torch.empty([qs[0].size(0), qs[0].size(1)], dtype=15)  # [N, K] bf16
    y = x
    for r in range(reps):
      for i in range(len(qs) // 2):
        y = torch.linear(x, ops.llamaserve.widen_int8(qs[2 * i], scratch)) * qs[2 * i + 1]
    return y
  def native_int8(self: __torch__.Int8Kernels, x: Tensor, qs: List[Tensor], reps: int) -> Tensor:
    # llama-serve's kernel (NativeKernels): blocked q [N, K] int8, scale [N] bf16 -> [M, N] (the step's mode 6)
    y = x
    for r in range(reps):
      for i in range(len(qs) // 2):
        y = ops.llamaserve.linear_int8(x, qs[2 * i], qs[2 * i + 1])
    return y
  def int8_widen(self: __torch__.Int8Kernels, x: Tensor, qs: List[Tensor], reps: int) -> Tensor:
    # int8 widened to bf16 per call, scale on the output (the step above cpuInt8PackMaxRows)
    y = x
    for r in range(reps):
      for i in range(len(qs) // 2):
        y = torch.linear(x, torch.to(qs[2 * i], x.dtype)) * qs[2 * i + 1]
    return y
  def int8_w8a8(self: __torch__.Int8Kernels, x: Tensor, ps: List[Tensor], reps: int) -> Tensor:
    # activations quantized per call (uint8, one scale and zero point for the whole [M, K]), oneDNN's int8 GEMM
    y = x
    for r in range(reps):
      for i in range(len(ps) // 3):
        y = self.w8a8(x, ps, i)
    return y
  def w8a8(self: __torch__.Int8Kernels, x: Tensor, ps: List[Tensor], i: int) -> Tensor:
    xf = x.float()                                                   # [M, K] f32
    lo = torch.clamp_max(torch.amin(xf), 0.)
    hi = torch.clamp_min(torch.amax(xf), 0.)
    sc = torch.clamp_min((hi - lo) / 255., 1e-12)
    zp = torch.round(-lo / sc)
    qx = torch.to(torch.clamp(torch.round(xf / sc) + zp, 0., 255.), 0)   # [M, K] uint8
    return ops.onednn.qlinear_pointwise(qx, float(sc), int(zp), ps[3 * i], ps[3 * i + 1], ps[3 * i + 2], None, 1.0, 0, 15, "none", annotate(List[Optional[number]], []), "")
  def errors(self: __torch__.Int8Kernels, x: Tensor, ws: List[Tensor], qs: List[Tensor], ps: List[Tensor]) -> List[Tensor]:
    # max |y - y_f32| of int8_pack and w8a8 against the f32 product of the bf16 weight, and max |y_f32|
    a = torch.linear(x.float(), ws[0].float())
    b = torch._weight_int8pack_mm(x, qs[0], qs[1]).float()
    c = self.w8a8(x, ps, 0).float()
    return [torch.amax(torch.abs(a)), torch.amax(torch.abs(a - b)), torch.amax(torch.abs(a - c))]
