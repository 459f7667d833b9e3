package dev.llamaserve.engine.model;

import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import dev.llamaserve.engine.device.DevicePlanner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code llm.model.packed-weights=true}: a second copy of every linear weight (the seven projections of each
 * layer and {@code lm_head}) in oneDNN's blocked layout ({@code mkldnn::_reorder_linear_weight}), kept under
 * {@code <name>_packed}. The step multiplies steps of several rows (batched decode, prefill) with it, and one
 * row with the plain weight, which oneDNN reads fastest for a single row. Without it, every multi-row bf16
 * {@code linear} re-lays its weight out on each call: about one extra read and write of the weight, which is most
 * of a batched decode step's time. The copy costs the linear weights' bytes a second time, so it is off by
 * default: for a CPU server that batches many streams and has the memory. CPU, bfloat16 on a CPU with native
 * bf16 dot products ({@code avx512_bf16} or {@code amx_bf16}), unquantized weights only.
 */
public final class PackedWeights {

    public static final String PROPERTY = "llm.model.packed-weights";
    /** {@code <name>.weight} → its packed copy {@code <name>.weight_packed}. */
    public static final String SUFFIX = "_packed";
    /**
     * The row count oneDNN picks the blocked layout for; the layout chosen serves 2–512 rows alike (measured with
     * {@code LinearKernelBenchmark}, hints 1, 16 and 128 within noise of each other).
     */
    static final long BATCH_HINT = 16;

    private PackedWeights() {
    }

    /** The weights that get a packed copy: every layer projection and {@code lm_head}, in step order. */
    static List<String> names(ModelConfig config) {
        List<String> names = new ArrayList<>();
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            for (String p : Quantization.LAYER_PROJECTIONS) {
                names.add("model.layers." + l + "." + p);
            }
        }
        names.add(LlamaModel.LM_HEAD);
        return names;
    }

    /** Bytes the packed copies add on the device: the linear weights' elements once more, {@code computeBytes} each. */
    public static long extraBytes(ModelConfig config, int computeBytes) {
        Map<String, long[]> shapes = config.tensorShapes();
        long elements = 0;
        for (String n : names(config)) {
            long[] s = n.equals(LlamaModel.LM_HEAD) ? new long[] {config.vocabSize(), config.hiddenSize()} : shapes.get(n);
            elements = Math.addExact(elements, Math.multiplyExact(s[0], s[1]));
        }
        return Math.multiplyExact(elements, (long) computeBytes);
    }

    /**
     * The weights' bytes on the device: {@code quantization}'s, plus the packed copies when {@code packed}. The memory
     * plan and the loader both count with this.
     */
    public static long residentBytes(ModelConfig config, Quantization quantization, int computeBytes, boolean packed) {
        return Math.addExact(quantization.weightBytes(config, computeBytes), packed ? extraBytes(config, computeBytes) : 0);
    }

    /**
     * Refuses the setting where the packed kernel does not run, naming the property and what to change: on a GPU,
     * in a dtype other than bfloat16, with int8 weights, or on a CPU without native bf16 dot products.
     */
    public static void requireSupported(DevicePlanner.Kind device, ComputeDType dtype, Quantization quantization,
                                        boolean nativeBf16) {
        String why = null;
        if (device != DevicePlanner.Kind.CPU) {
            why = "the model runs on " + device + " (packed weights are oneDNN's CPU layout)";
        } else if (dtype != ComputeDType.BFLOAT16) {
            why = "the compute dtype is " + dtype.optionName() + " (packed weights are bfloat16 only)";
        } else if (quantization != Quantization.NONE) {
            why = Quantization.PROPERTY + " is " + quantization.optionName() + " (int8 weights have their own kernel)";
        } else if (!nativeBf16) {
            why = "this CPU has no native bf16 dot products (neither avx512_bf16 nor amx_bf16 in /proc/cpuinfo)";
        }
        if (why != null) {
            throw new IllegalArgumentException(PROPERTY + "=true is not available: " + why + "; set " + PROPERTY
                    + "=false");
        }
    }

    /** Adds {@code <name>_packed} for every linear weight of {@code weights} (which must hold the plain ones). */
    static void pack(PtSymbolBlock module, PtNDManager manager, ModelConfig config, Map<String, PtNDArray> weights) {
        for (String n : names(config)) {
            try (IValue w = IValue.from(weights.get(n));
                 IValue r = IValueUtils.runMethod(module, "pack_linear", w, IValue.from(BATCH_HINT))) {
                weights.put(n + SUFFIX, r.toTensor(manager));   // [out, in] in oneDNN's blocked layout
            }
        }
    }
}
