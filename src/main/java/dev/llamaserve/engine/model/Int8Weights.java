package dev.llamaserve.engine.model;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.checkpoint.DType;
import dev.llamaserve.engine.checkpoint.TensorInfo;
import dev.llamaserve.engine.device.DevicePlanner;
import java.util.Map;

/** Loading int8 weights ({@link Quantization}) for {@link LlamaModel}: quantizing in libtorch, the kernel check. */
final class Int8Weights {

    private Int8Weights() {
    }

    /**
     * Quantizes a weight to int8 inside libtorch ({@code to_int8}): returns {@code q} [out, in] int8 (in the native
     * kernels' blocked layout when {@code blocked}) and puts its scales [out] (compute dtype) into {@code scales}
     * under {@code stepName + "_scale"}.
     */
    static PtNDArray quantize(PtSymbolBlock module, PtNDManager manager, PtNDManager cpu, TensorInfo t,
                                    String stepName, Map<String, PtNDArray> scales, ComputeDType dtype,
                                    DevicePlanner.DeviceInfo device, boolean blocked) {
        if (t.shape().length != 2) {
            throw new IllegalStateException(t.name() + ": int8 quantization needs an [out, in] weight, shape "
                    + java.util.Arrays.toString(t.shape()));
        }
        long[] rawShape = {t.shape()[0], t.shape()[1] * t.dtype().bytes()};
        // the native kernels quantize a bf16 weight straight into their blocked layout (bit-identical to to_int8
        // then native_block_int8: NativeKernelsTest), without to_int8's float32 temporaries
        boolean nativeQuantize = blocked && t.dtype() == DType.BF16 && dtype == ComputeDType.BFLOAT16;
        return Checkpoint.withMapped(t, bytes -> {   // q and scale are new tensors, not views of the mapping
            try (PtNDArray raw = (PtNDArray) cpu.create(bytes, new Shape(rawShape), DataType.UINT8);   // [out, in*bytes] u8
                 IValue rawArg = IValue.from(raw);
                 IValue r = nativeQuantize
                         ? IValueUtils.runMethod(module, "native_quantize_int8", rawArg)
                         : IValueUtils.runMethod(module, "to_int8", rawArg,
                                 IValue.from((long) ComputeDType.torchCode(t.dtype())), IValue.from((long) dtype.torchCode()),
                                 IValue.from(device.torchDevice()))) {
                PtNDArray[] qs = r.toTensorArray(manager);    // [q [out, in] int8 (blocked if nativeQuantize), scale [out]]
                scales.put(stepName + Quantization.SCALE_SUFFIX, qs[1]);
                if (!blocked) {
                    return qs[0];
                }
                return onHugePages(module, manager, nativeQuantize ? qs[0] : block(module, manager, qs[0]));
            }
        });
    }

    /** q [out, in] int8 row-major -> the native kernels' blocked layout, a new tensor; q closed. */
    private static PtNDArray block(PtSymbolBlock module, PtNDManager manager, PtNDArray q) {
        try (q;
             IValue qArg = IValue.from(q);
             IValue b = IValueUtils.runMethod(module, "native_block_int8", qArg)) {
            return b.toTensor(manager);                       // [out, in] int8, blocked
        }
    }

    /**
     * The native kernels' int8 weight q, blocked on the CPU, copied onto 2 MiB pages from a 2 MiB boundary
     * ({@code on_huge_pages}: all of it, where collapsing it in place would leave its head and tail on 4 KiB pages and
     * copy it as well) where {@link CpuKernelSwitches#CPU_HUGE_PAGES}; q closed. Otherwise q itself.
     */
    private static PtNDArray onHugePages(PtSymbolBlock module, PtNDManager manager, PtNDArray q) {
        if (!CpuKernelSwitches.CPU_HUGE_PAGES) {
            return q;
        }
        try (q;
             IValue qArg = IValue.from(q);
             IValue h = IValueUtils.runMethod(module, "on_huge_pages", qArg)) {
            return h.toTensor(manager);                       // [out, in] int8, blocked, a copy
        }
    }

    /**
     * int8 weights take {@code _weight_int8pack_mm} for few rows on the CPU in bf16, where every quantized weight's
     * shape suits the kernel; elsewhere they are widened. Its vector loops have no tail: a weight whose {@code in} is
     * no multiple of 32 (an {@code intermediate_size} of 200) ended the JVM with SIGSEGV at the first step. The bound
     * is the blocked int8 layout's ({@link NativeKernels#blocksInt8}: in a multiple of 32, out of 4), which every
     * Llama 3 shape meets.
     */
    static boolean usesPack(Quantization q, ComputeDType dtype, DevicePlanner.DeviceInfo device, ModelConfig config) {
        return q != Quantization.NONE && device.kind() == DevicePlanner.Kind.CPU && dtype == ComputeDType.BFLOAT16
                && NativeKernels.blocksInt8(config, q);
    }

    static void probePack(PtSymbolBlock module, ComputeDType dtype, DevicePlanner.DeviceInfo device) {
        try (IValue r = IValueUtils.runMethod(module, "int8_pack_probe", IValue.from((long) dtype.torchCode()),
                IValue.from(device.torchDevice()))) {
            // ran: the kernel is there
        } catch (RuntimeException e) {
            throw new IllegalStateException(Quantization.PROPERTY + ": this libtorch has no int8 weight kernel"
                    + " (torch._weight_int8pack_mm) for " + dtype.optionName() + " on " + device.torchDevice()
                    + " (" + e.getMessage().lines().findFirst().orElse("") + "); set " + Quantization.PROPERTY
                    + "=none", e);
        }
    }

}
