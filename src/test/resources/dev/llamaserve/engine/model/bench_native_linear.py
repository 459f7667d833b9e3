class BenchNativeLinear(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  def dict_linears(self: __torch__.BenchNativeLinear, x: Tensor, xi: Tensor, w: Dict[str, Tensor], joined: str) -> Tensor:
    # bench_linear.py's dict_linears through llama-serve's native linear_bf16 (a script of its own: it compiles only
    # where the model has registered the native ops). x: [1, hidden], xi: [1, intermediate]; one pass over a model's
    # weights by name (joined: comma-separated, step order), one row each, as a one-row decode step runs them.
    names = joined.split(",")
    y = x
    for name in names:
      wt = w[name]
      inp = x if wt.size(1) == x.size(1) else xi                     # [1, in]: down_proj reads the intermediate
      y = ops.llamaserve.linear_bf16(inp, wt)                        # [1, out]
    return y
