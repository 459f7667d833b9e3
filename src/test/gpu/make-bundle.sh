#!/bin/bash
# Packs what the model tests need to run on a GPU machine that has no JDK and no Maven (README, "Checks on a GPU"):
# a trimmed JRE, the test class path without the CPU libtorch, the compiled classes, a JUnit launcher, and, when a
# DJL source tree is given, the sources of DJL's PyTorch JNI to rebuild there against that machine's libtorch.
#   src/test/gpu/make-bundle.sh [DJL_GIT_DIR]     ->  target/gpu/ (carry it; about 40 MB)
# DJL_GIT_DIR: a git directory of deepjavalibrary/djl with the tag v0.36.0 (the version in pom.xml).
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=target/gpu
rm -rf $OUT target/gpu-stage && mkdir -p $OUT target/gpu-stage/lib target/gpu-stage/launcher
S=target/gpu-stage
./mvnw -o -q test-compile
CP=$(./mvnw -o -q org.codehaus.mojo:exec-maven-plugin:3.5.0:exec -Dexec.executable=echo -Dexec.classpathScope=test \
  "-Dexec.args=%classpath" | tail -1)
M2=${MAVEN_REPO:-$HOME/.m2/repository}
JUNIT=$(echo "$CP" | tr ':' '\n' | grep -o 'junit-platform-engine/[^/]*' | head -1 | cut -d/ -f2)
LAUNCHER=$M2/org/junit/platform/junit-platform-launcher/$JUNIT/junit-platform-launcher-$JUNIT.jar
[ -f "$LAUNCHER" ] || { echo "missing $LAUNCHER (./mvnw dependency:get -Dartifact=org.junit.platform:junit-platform-launcher:$JUNIT)"; exit 1; }
# the jars the engine's tests use; not the CPU libtorch (the GPU machine's libtorch is used), nor the server's
for j in $(echo "$CP" | tr ':' '\n' | grep '\.jar$' | grep -E '/ai/djl/|/org/junit/|/org/opentest4j/|/org/apiguardian/|/org/assertj/|/tools/jackson/core/|/com/fasterxml/jackson/core/jackson-annotations|/org/slf4j/slf4j-api|/com/google/code/gson/|/net/java/dev/jna/jna/|/org/apache/commons/commons-compress|/commons-io/' | grep -v 'pytorch-native-cpu'); do
  cp "$j" $S/lib/
done
cp "$LAUNCHER" $S/lib/
# natives of other platforms stay behind (the tokenizers jar: 18 MB → 5 MB)
for j in $S/lib/tokenizers-*.jar $S/lib/pytorch-jni-*.jar; do
  zip -q -d "$j" 'native/lib/linux-aarch64/*' 'native/lib/osx-*' 'native/lib/win-*' 'jnilib/linux-aarch64/*' \
    'jnilib/osx-*' 'jnilib/win-*' >/dev/null 2>&1 || true
done
javac -d $S/launcher -cp "$(ls $S/lib/*.jar | tr '\n' ':')" src/test/gpu/GpuJUnit.java
cp -r target/classes $S/classes && cp -r target/test-classes $S/test-classes
jlink --add-modules java.base,java.logging,java.management,java.naming,java.xml,jdk.unsupported --strip-debug \
  --no-header-files --no-man-pages --compress=2 --output $S/jre
strip --strip-unneeded $S/jre/lib/server/libjvm.so 2>/dev/null || true
XZ_OPT="-T0 -6" tar -C $S -cJf $OUT/bundle.tar.xz jre lib classes test-classes launcher
cp src/test/gpu/run.sh src/test/gpu/build-jni.sh $OUT/
if [ $# -ge 1 ]; then
  J=$OUT/jni && mkdir -p $J/src $J/include $J/jdk $J/classes
  git --git-dir="$1" archive v0.36.0 engines/pytorch/pytorch-native/src/main/native api/src/main/native/djl \
    engines/pytorch/pytorch-engine/src/main/java/ai/djl/pytorch/jni/PyTorchLibrary.java | tar -x -C $J/classes
  cp $J/classes/engines/pytorch/pytorch-native/src/main/native/* $J/src/
  cp -r $J/classes/api/src/main/native/djl $J/include/
  javac -cp "$(ls $S/lib/*.jar | tr '\n' ':')" -h $J/include -d $J/classes \
    $J/classes/engines/pytorch/pytorch-engine/src/main/java/ai/djl/pytorch/jni/PyTorchLibrary.java
  python3 src/test/gpu/stub-profiler.py $J/src/ai_djl_pytorch_jni_PyTorchLibrary_system.cc
  cp -r "$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")/include" $J/jdk/
  rm -rf $J/classes
fi
rm -rf $S
du -sh $OUT
