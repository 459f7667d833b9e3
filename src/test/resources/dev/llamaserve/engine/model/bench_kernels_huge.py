  # appended to bench_kernels.py's class where llama-serve's native kernels are loaded and the weights go on 2 MiB
  # pages (CpuKernelSwitches.CPU_HUGE_PAGES): the probe then reads memory as the step reads the weights
  def filled_huge(self: __torch__.BenchKernels, n: int, dtype: int) -> Tensor:
    # -> [n] of dtype, every element written, on 2 MiB pages (advised before the writes: llamaserve_ops.c's huge_pages)
    x = torch.empty([n], dtype=dtype)
    ops.llamaserve.huge_pages(x, 0)
    return torch.fill_(x, 0.5)
