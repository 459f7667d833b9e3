/*
 * The kernels' file for the harnesses beside it (not part of the build): llamaserve_ops.c included
 * whole, with the libtorch shim it calls absent (its constructor then registers nothing).
 */
#include "../../main/native/llamaserve_ops.c"
#include <time.h>

/* the libtorch shim the kernels' file calls: absent here (its constructor registers nothing) */
AOTITorchError aoti_torch_library_init_def(const char* ns, const char* file, uint32_t line, TorchLibraryHandle* ret) { return 1; }
AOTITorchError aoti_torch_library_init_impl(const char* ns, const char* k, const char* file, uint32_t line, TorchLibraryHandle* ret) { return 1; }
AOTITorchError aoti_torch_library_def(TorchLibraryHandle self, const char* schema) { return 1; }
AOTITorchError aoti_torch_library_impl(TorchLibraryHandle self, const char* name, void (*fn)(StableIValue*, uint64_t, uint64_t)) { return 1; }
AOTITorchError aoti_torch_get_data_ptr(AtenTensorHandle t, void** ret) { return 1; }
AOTITorchError aoti_torch_get_sizes(AtenTensorHandle t, int64_t** ret) { return 1; }
AOTITorchError aoti_torch_get_strides(AtenTensorHandle t, int64_t** ret) { return 1; }
AOTITorchError aoti_torch_get_dim(AtenTensorHandle t, int64_t* ret) { return 1; }
AOTITorchError aoti_torch_get_dtype(AtenTensorHandle t, int32_t* ret) { return 1; }
AOTITorchError aoti_torch_empty_strided(int64_t ndim, const int64_t* sizes, const int64_t* strides, int32_t dtype,
                                        int32_t device_type, int32_t device_index, AtenTensorHandle* ret) { return 1; }
AOTITorchError aoti_torch_delete_tensor_object(AtenTensorHandle t) { return 1; }
AOTITorchError aoti_torch_get_numel(AtenTensorHandle t, int64_t* ret) { return 1; }
int32_t aoti_torch_dtype_bfloat16(void) { return 15; }
int32_t aoti_torch_dtype_float16(void) { return 5; }
int32_t aoti_torch_dtype_float32(void) { return 6; }
int32_t aoti_torch_dtype_int8(void) { return 1; }
int32_t aoti_torch_dtype_int64(void) { return 4; }
int32_t aoti_torch_dtype_uint8(void) { return 0; }
int32_t aoti_torch_device_type_cpu(void) { return 0; }

/* seconds on the monotonic clock, for the harnesses' timings */
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec * 1e-9;
}
