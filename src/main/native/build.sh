#!/bin/sh
# Builds libllamaserve_ops.so (see llamaserve_ops.c) into $1, the class path directory it is loaded from: one
# translation unit, llamaserve_ops.c, which includes its parts (llamaserve_ops/*.c, never compiled alone).
# Linux x86-64 with gcc only; elsewhere, or without gcc, it says so and builds nothing: the model then uses
# libtorch's own kernels (NativeKernels.available() is false), and the tests of the kernels skip visibly.
# It links against an empty stand-in for libtorch_cpu.so, only so that the library names libtorch_cpu.so as
# needed: at run time that resolves to the libtorch DJL has already loaded, and so do its aoti_torch_* and
# GOMP_* symbols (libgomp through libtorch_cpu.so's own dependency on it).
set -eu
out="$1"
work="$2"
src="$(dirname "$0")/llamaserve_ops.c"
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "native kernels: not built ($(uname -s)-$(uname -m) is not Linux-x86_64): libtorch's kernels will be used"
  exit 0
fi
CC="${CC:-gcc}"
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "native kernels: not built (no $CC on PATH): libtorch's kernels will be used"
  exit 0
fi
mkdir -p "$out" "$work/stub"
: > "$work/stub/empty.c"
"$CC" -shared -fPIC -o "$work/stub/libtorch_cpu.so" -Wl,-soname,libtorch_cpu.so "$work/stub/empty.c"
"$CC" -O3 -fPIC -fopenmp -std=gnu11 -Wall -Wextra -Werror -c "$src" -o "$work/llamaserve_ops.o"
"$CC" -shared -o "$out/libllamaserve_ops.so" "$work/llamaserve_ops.o" -L"$work/stub" -Wl,--no-as-needed \
  -l:libtorch_cpu.so -Wl,-z,now -Wl,--as-needed -lm -lpthread -ldl -lc
echo "native kernels: built $out/libllamaserve_ops.so"
