class GatheredAttention(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  def attend(self: __torch__.GatheredAttention, q: Tensor, k_cache: Tensor, v_cache: Tensor, positions: Tensor,
             query_start: List[int], query_len: List[int], context_slots: Tensor, context_start: List[int],
             context_len: List[int]) -> Tensor:
    # The attention llama_step.py had before it read pages in place (kept as the reference of PagedAttentionTest
    # and the "before" of PagedAttentionBenchmark): per sequence, gather its whole context into a contiguous copy
    # and call scaled_dot_product_attention with a [ql, C] mask.
    # q: [T, NH, D]; k_cache, v_cache: [S, KVH, D]; positions: [T]; context_slots: [sum C] -> [T, NH, D]
    outs: List[Tensor] = []
    for b in range(len(query_len)):
      qs = query_start[b]
      ql = query_len[b]
      cs = context_start[b]
      cl = context_len[b]
      slots = context_slots[cs:cs + cl]                              # [C]
      kb = torch.transpose(torch.index_select(k_cache, 0, slots), 0, 1)   # [KVH, C, D]
      vb = torch.transpose(torch.index_select(v_cache, 0, slots), 0, 1)   # [KVH, C, D]
      qb = torch.transpose(q[qs:qs + ql], 0, 1)                      # [NH, ql, D]
      pos_b = positions[qs:qs + ql]                                  # [ql]
      key_pos = torch.arange(cl, device=q.device)                    # [C]
      mask = torch.le(torch.unsqueeze(key_pos, 0), torch.unsqueeze(pos_b, 1))   # [ql, C] bool
      ob = torch.scaled_dot_product_attention(qb, kb, vb, mask, 0., False, scale=None, enable_gqa=True)  # [NH, ql, D]
      outs.append(torch.transpose(ob, 0, 1))                         # [ql, NH, D]
    return torch.cat(outs, 0)                                        # [T, NH, D]
  def cast(self: __torch__.GatheredAttention, x: Tensor, dtype: int) -> Tensor:
    # x -> x in dtype (DJL cannot make bfloat16 tensors)
    return torch.to(x, dtype)
