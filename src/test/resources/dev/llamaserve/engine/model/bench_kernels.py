class BenchKernels(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  def filled(self: __torch__.BenchKernels, n: int, dtype: int) -> Tensor:
    # -> [n] of dtype, every element written (pages committed)
    return torch.full([n], 0.5, dtype=dtype)
  def read_all(self: __torch__.BenchKernels, x: Tensor) -> Tensor:
    # x: [n] -> [] : reads every element once (a memory-bound reduction)
    return torch.sum(x)
  def random(self: __torch__.BenchKernels, rows: int, cols: int, dtype: int) -> Tensor:
    # -> [rows, cols] of dtype, N(0, 1)
    return torch.to(torch.randn([rows, cols]), dtype)
  def gemm(self: __torch__.BenchKernels, a: Tensor, b: Tensor) -> Tensor:
    # a: [M, K], b: [N, K] -> [M, N] : one linear, as the step multiplies activations by weights; returned, so
    # that no graph pass can drop it
    return torch.linear(a, b)                                        # [M, N]
