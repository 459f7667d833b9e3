class Int8Kernels(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  def rand(self: __torch__.Int8Kernels, rows: int, cols: int, dtype: int) -> Tensor:
    # -> [rows, cols] ~ N(0, 0.02) in dtype, the scale of Llama's linear weights
    return torch.to(torch.randn([rows, cols]) * 0.02, dtype)
  def raw(self: __torch__.Int8Kernels, w: Tensor) -> Tensor:
    # w: [out, in] bf16 -> [out, in * 2] uint8, as the loader hands checkpoint bytes to to_int8
    return torch.view_copy(w, dtype=0)
  def mm_plain(self: __torch__.Int8Kernels, x: Tensor, w: Tensor, n: int) -> Tensor:
    # x: [M, K]; w: [N, K] -> [M, N], n times
    y = torch.linear(x, w)
    for i in range(n - 1):
      y = torch.linear(x, w)
    return y
  def mm_pad(self: __torch__.Int8Kernels, x: Tensor, w: Tensor, n: int) -> Tensor:
    y = torch.linear(torch.cat([x, x], 0), w)[:1]
    for i in range(n - 1):
      y = torch.linear(torch.cat([x, x], 0), w)[:1]
    return y
  def conv(self: __torch__.Int8Kernels, x: Tensor, q: Tensor, n: int) -> Tensor:
    y = torch.to(q, x.dtype)
    for i in range(n - 1):
      y = torch.to(q, x.dtype)
    return y
  def conv_f32(self: __torch__.Int8Kernels, x: Tensor, q: Tensor, n: int) -> Tensor:
    y = torch.to(torch.to(q, 6), x.dtype)
    for i in range(n - 1):
      y = torch.to(torch.to(q, 6), x.dtype)
    return y
  def conv_mul(self: __torch__.Int8Kernels, x: Tensor, q: Tensor, s: Tensor, n: int) -> Tensor:
    y = q * torch.unsqueeze(s, 1)
    for i in range(n - 1):
      y = q * torch.unsqueeze(s, 1)
    return y
  def mm_deq_mul(self: __torch__.Int8Kernels, x: Tensor, q: Tensor, s: Tensor, n: int) -> Tensor:
    y = torch.linear(x, q * torch.unsqueeze(s, 1))
    for i in range(n - 1):
      y = torch.linear(x, q * torch.unsqueeze(s, 1))
    return y
  def mm_deq_f32(self: __torch__.Int8Kernels, x: Tensor, q: Tensor, s: Tensor, n: int) -> Tensor:
    y = torch.linear(x, torch.to(torch.to(q, 6), x.dtype)) * s
    for i in range(n - 1):
      y = torch.linear(x, torch.to(torch.to(q, 6), x.dtype)) * s
    return y
  def mm_pack(self: __torch__.Int8Kernels, x: Tensor, q: Tensor, s: Tensor, n: int) -> Tensor:
    # x: [M, K] bf16/f32; q: [N, K] int8; s: [N] x.dtype -> [M, N]
    y = torch._weight_int8pack_mm(x, q, s)
    for i in range(n - 1):
      y = torch._weight_int8pack_mm(x, q, s)
    return y
  def mm_deq(self: __torch__.Int8Kernels, x: Tensor, q: Tensor, s: Tensor, n: int) -> Tensor:
    # x: [M, K]; q: [N, K] int8 widened to x.dtype per call; s: [N] applied to the output
    y = torch.linear(x, torch.to(q, x.dtype)) * s
    for i in range(n - 1):
      y = torch.linear(x, torch.to(q, x.dtype)) * s
    return y
  def mm_dyn(self: __torch__.Int8Kernels, x: Tensor, q: Tensor, s: Tensor, n: int) -> Tensor:
    # fbgemm dynamic quantization: activations quantized per call (uint8, per tensor), weights qint8 per channel
    wq = torch.quantize_per_channel(torch.to(q, 6) * torch.unsqueeze(s.float(), 1), s.float(), torch.zeros([s.size(0)], dtype=4), 0, 12)
    packed = ops.quantized.linear_prepack(wq, None)
    xf = x.float()
    y = ops.quantized.linear_dynamic(xf, packed, False)
    for i in range(n - 1):
      y = ops.quantized.linear_dynamic(xf, packed, False)
    return y
  def prepack_only(self: __torch__.Int8Kernels, q: Tensor, s: Tensor) -> int:
    wq = torch.quantize_per_channel(torch.to(q, 6) * torch.unsqueeze(s.float(), 1), s.float(), torch.zeros([s.size(0)], dtype=4), 0, 12)
    packed = ops.quantized.linear_prepack(wq, None)
    return 0
