class BenchLinear(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  def weight(self: __torch__.BenchLinear, rows: int, cols: int, dtype: int, kind: int) -> Tensor:
    # -> [rows, cols] of dtype (kind 3, 5: packed by oneDNN for 1-row inputs)
    w = torch.to(torch.randn([rows, cols]) * 0.02, dtype)            # [rows, cols]
    if kind == 3 or kind == 5:
      return ops.mkldnn._reorder_linear_weight(w, 1)
    return w
  def input(self: __torch__.BenchLinear, rows: int, cols: int, dtype: int) -> Tensor:
    return torch.to(torch.randn([rows, cols]), dtype)                # [rows, cols]
  def run(self: __torch__.BenchLinear, x: Tensor, w: Tensor, kind: int, reps: int, out_features: int) -> Tensor:
    # x: [T, in]; w: [out, in] (or packed) -> [T, out], reps times
    y = x
    for i in range(reps):
      if kind == 0:
        y = torch.linear(x, w)                                       # as is
      elif kind == 1:
        y = torch.linear(torch.cat([x, x], 0), w)[:1]                # one row padded to two
      elif kind == 2 or kind == 3:
        y = ops.mkldnn._linear_pointwise(x, w, None, "none", annotate(List[Optional[number]], []), "")   # oneDNN, dense or packed
      elif kind == 4:
        y = torch.matmul(w, torch.t(x))                              # [out, T]: GEMV with the weight on the left
      elif kind == 5:
        y = ops.mkldnn._linear_pointwise(torch.cat([x, x], 0), w, None, "none", annotate(List[Optional[number]], []), "")[:1]
    return y
