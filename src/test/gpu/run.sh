#!/bin/bash
# On a GPU machine without a JDK or Maven, in the folder make-bundle.sh made (README, "Checks on a GPU"):
#   ./run.sh gpu:0 dev.llamaserve.engine.model.LlamaModelParityIT ...     (cpu instead of gpu:0 runs them on the CPU)
# Without PYTORCH_LIBRARY_PATH set, DJL is pointed at the libtorch of the machine's python3 (torch/lib) as a cu128
# build of 2.7.1, which finds the JNI that build-jni.sh put in DJL's cache; llama-serve's CPU kernels, built for
# libtorch 2.7.1, are switched off then.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
W=${LLAMASERVE_GPU_WORK:-/tmp/llamaserve-gpu}
mkdir -p "$W"
[ -d "$W/jre" ] || tar -C "$W" -xJf "$HERE/bundle.tar.xz"
DEV=$1; shift
OPTS=""
if [ -z "${PYTORCH_LIBRARY_PATH:-}" ]; then
  T=$(python3 -c 'import torch,os;print(os.path.join(os.path.dirname(torch.__file__),"lib"))')
  export PYTORCH_LIBRARY_PATH=$T PYTORCH_VERSION=2.7.1 PYTORCH_FLAVOR=cu128
  OPTS="-Dllamaserve.nativeKernels=false"
  # DJL counts GPUs through JNA's libcudart.so: the CUDA runtime of the pip wheels, wherever it lies
  CR=$(dirname "$(find / -name 'libcudart.so*' -path '*nvidia*' 2>/dev/null | head -1)")
  mkdir -p "$W/cudart" && ln -sf "$(ls "$CR"/libcudart.so* | head -1)" "$W/cudart/libcudart.so"
  export LD_LIBRARY_PATH=$W/cudart:$CR:${LD_LIBRARY_PATH:-}
  echo "libtorch: $T ; cudart: $CR"
fi
CP=$W/launcher:$W/test-classes:$W/classes:$(ls "$W"/lib/*.jar | tr '\n' ':')
exec "$W/jre/bin/java" -Xmx12g -Dai.djl.offline=true -Djna.library.path="$W/cudart" $OPTS \
  -Dllamaserve.test.device="$DEV" ${JAVA_OPTS:-} -cp "$CP" GpuJUnit "$@"
