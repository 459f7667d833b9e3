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
      elif kind == 6:
        y = torch.unsqueeze(torch.mv(w, x[0]), 0)                    # [1, out]: torch.mv, one row only
      elif kind == 7:
        y = torch.unsqueeze(torch.matmul(x[0], torch.t(w)), 0)       # [1, out]: vector times the transposed weight
      elif kind == 5:
        y = ops.mkldnn._linear_pointwise(torch.cat([x, x], 0), w, None, "none", annotate(List[Optional[number]], []), "")[:1]
    return y
  def dict_linears(self: __torch__.BenchLinear, x: Tensor, xi: Tensor, w: Dict[str, Tensor], joined: str, kind: int) -> Tensor:
    # x: [1, hidden], xi: [1, intermediate]; one pass over a model's weights by name (joined: comma-separated,
    # step order), one row each, as a decode step makes it (kind 2: oneDNN dense, else torch.linear).
    # Run with the graph executor's optimizer off (as the step runs): on, it unrolls this loop and drops the
    # products whose results are overwritten, and the pass looks 2-3x faster than it is
    names = joined.split(",")
    y = x
    for name in names:
      wt = w[name]
      inp = x if wt.size(1) == x.size(1) else xi                     # [1, in]: down_proj reads the intermediate
      if kind == 2:
        y = ops.mkldnn._linear_pointwise(inp, wt, None, "none", annotate(List[Optional[number]], []), "")   # [1, out]
      else:
        y = torch.linear(inp, wt)                                    # [1, out]
    return y
