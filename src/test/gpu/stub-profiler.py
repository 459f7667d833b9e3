# DJL 0.36.0's JNI bridges libtorch's legacy profiler, which newer libtorch releases changed; llama-serve never
# profiles through DJL, so for a GPU check against such a libtorch the two entry points are built as stubs that throw.
import sys
p = sys.argv[1]
s = open(p).read()
a = s.index('// the code snippet is copied from torch/csrc/autograd/profiler_legacy.cpp')
b = s.index('JNIEXPORT void JNICALL Java_ai_djl_pytorch_jni_PyTorchLibrary_torchCudaEmptyCache')
stub = '''JNIEXPORT void JNICALL Java_ai_djl_pytorch_jni_PyTorchLibrary_torchStartProfile(
    JNIEnv* env, jobject jthis, jboolean juse_cuda, jboolean jrecord_shape, jboolean jprofile_memory) {
  env->ThrowNew(env->FindClass("java/lang/UnsupportedOperationException"), "profiler left out of this build");
}

JNIEXPORT void JNICALL Java_ai_djl_pytorch_jni_PyTorchLibrary_torchStopProfile(
    JNIEnv* env, jobject jthis, jstring joutput_file) {
  env->ThrowNew(env->FindClass("java/lang/UnsupportedOperationException"), "profiler left out of this build");
}

'''
s = s[:a] + stub + s[b:]
s = s.replace('using namespace torch::autograd::profiler;', '')
open(p, 'w').write(s)
