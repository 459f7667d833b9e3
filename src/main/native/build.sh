#!/bin/sh
# Builds libllamaserve_ops.so (see llamaserve_ops.c) into $1, the class path directory it is loaded from: one
# translation unit, llamaserve_ops.c, which includes its parts (llamaserve_ops/*.c, never compiled alone).
# Linux x86-64 with gcc only; elsewhere, without gcc, or with a gcc that cannot compile them (one older than 11,
# without the C library's headers), it says so and builds nothing: the model then uses libtorch's own kernels
# (NativeKernels.available() is false), and the tests of the kernels skip visibly. With LLM_REQUIRE_NATIVE=1 (CI)
# a failed build fails, and warnings are errors; elsewhere a newer gcc's new warnings do not stop the build.
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
required="${LLM_REQUIRE_NATIVE:-0}"
werror=""
[ "$required" = "1" ] && werror="-Werror"
mkdir -p "$out" "$work/stub"
rm -f "$out/libllamaserve_ops.so"   # none rather than one of older sources, should this build fail
: > "$work/stub/empty.c"
if "$CC" -shared -fPIC -o "$work/stub/libtorch_cpu.so" -Wl,-soname,libtorch_cpu.so "$work/stub/empty.c" \
    && "$CC" -O3 -fPIC -fopenmp -std=gnu11 -Wall -Wextra $werror -c "$src" -o "$work/llamaserve_ops.o" \
    && "$CC" -shared -o "$out/libllamaserve_ops.so" "$work/llamaserve_ops.o" -L"$work/stub" -Wl,--no-as-needed \
      -l:libtorch_cpu.so -Wl,-z,now -Wl,--as-needed -lm -lpthread -ldl -lc; then
  echo "native kernels: built $out/libllamaserve_ops.so"
elif [ "$required" = "1" ]; then
  echo "native kernels: $CC could not build them (above), and LLM_REQUIRE_NATIVE=1 requires them" >&2
  exit 1
else
  rm -f "$out/libllamaserve_ops.so"
  echo "native kernels: not built ($CC could not build them: its messages are above): libtorch's kernels will be used"
fi
