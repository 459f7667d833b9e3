#!/bin/bash
# On a GPU machine whose libtorch is not 2.7.1 (DJL 0.36.0's prebuilt JNI then crashes in libc10: ABI), in the folder
# make-bundle.sh made with a DJL source tree: builds DJL's PyTorch JNI (libdjl_torch.so) against the libtorch of the
# machine's python3, with CUDA, into DJL's cache, where DJL looks first for PYTORCH_VERSION=2.7.1
# PYTORCH_FLAVOR=cu128 (run.sh sets them). About 50 s on 16 cores.
set -u
H=$(cd "$(dirname "$0")" && pwd)/jni
T=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')
NV=$(dirname "$T")/nvidia
INC="-I$T/include -I$T/include/torch/csrc/api/include -I$H/include -I$H/jdk/include -I$H/jdk/include/linux"
for d in /usr/local/cuda/include "$NV"/*/include; do [ -d "$d" ] && INC="$INC -I$d"; done
echo "compiler: $(g++ --version | head -1); libtorch: $T"
mkdir -p "$H/obj"; cd "$H/src"
for f in *.cc; do
  ( g++ -c -O2 -fPIC -std=c++17 -DUSE_CUDA -D_GLIBCXX_USE_CXX11_ABI=1 $INC "$f" -o "$H/obj/${f%.cc}.o" 2> "$H/obj/${f%.cc}.err" \
    || g++ -c -O2 -fPIC -std=c++20 -DUSE_CUDA -D_GLIBCXX_USE_CXX11_ABI=1 $INC "$f" -o "$H/obj/${f%.cc}.o" 2> "$H/obj/${f%.cc}.err" \
    || echo "FAILED $f" ) &
done
wait
ok=1
for f in *.cc; do [ -f "$H/obj/${f%.cc}.o" ] || { ok=0; echo "=== $f"; grep -m 12 error "$H/obj/${f%.cc}.err"; }; done
[ $ok = 1 ] || exit 1
D=$HOME/.djl.ai/pytorch/2.7.1-cu128-linux-x86_64
mkdir -p "$D"
g++ -shared -o "$D/0.36.0-libdjl_torch.so" "$H"/obj/*.o -L"$T/lib" -Wl,-rpath,"$T/lib" \
  -ltorch -ltorch_cpu -ltorch_cuda -lc10 -lc10_cuda || exit 1
ls -la "$D"
