package dev.llamaserve.engine.device;

import dev.llamaserve.engine.checkpoint.DType;
import dev.llamaserve.engine.model.ComputeDType;
import dev.llamaserve.engine.model.KvCacheDType;
import dev.llamaserve.engine.model.LlamaModel;
import dev.llamaserve.engine.model.ModelConfig;
import dev.llamaserve.engine.model.PackedWeights;
import dev.llamaserve.engine.model.Quantization;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How the memory of the device that runs the model is split between the weights and the KV cache:
 * decided from {@code config.json} and the settings before anything is loaded, so that a model that
 * does not fit is refused at once with a message that says what to change.
 *
 * <p><b>When memory is measured.</b> {@link Device#freeBytes()} is the free memory <em>before</em> the
 * weights are loaded (on CUDA, e.g. {@code cudaMemGetInfo}; on CPU the host's available memory, i.e.
 * Linux {@code MemAvailable} or the container's limit minus its usage). On CPU the weights live in
 * that same host memory, so the plan subtracts them first: what stays free after loading is
 * {@code free − weights}, and {@code auto} takes 25 % of that (the JVM heap, the tokenizer, activations
 * and the OS keep the rest). On CUDA, a step's own memory is set aside first ({@link #cudaStepReserve}: libtorch's
 * fixed share, the activations of a step of {@code llm.engine.max-num-batched-tokens} tokens, and with int8 linears
 * the widest weight widened), and {@code auto} takes {@code free − weights} less the larger of that reserve and 10 %
 * (allocator slack). An explicit {@code llm.engine.kv-cache-memory} must fit in {@code free − weights} on the CPU,
 * in {@code free − weights − reserve} on CUDA.
 *
 * <p>The KV cache holds K and V, in {@code llm.engine.kv-cache-dtype} (default: the compute dtype), for every
 * layer: {@code 2 × layers × KV heads × head_dim × bytes} per token (131,072 B for Llama-3.1-8B in bf16); in
 * float8 e4m3, 1 byte per element plus a 4-byte scale per token, layer, KV head and K or V
 * ({@code 2 × layers × KV heads × (head_dim + 4)}: 67,584 B for the 8B, 8.25 GiB for 128K tokens instead of
 * 16 GiB), in blocks of {@code blockSize} tokens; the budget is rounded down to whole blocks.
 *
 * @param device the device and its memory before loading
 * @param dtype the compute dtype of weights and KV cache
 * @param quantization {@code llm.model.quantization}: int8 linears take 1 byte per parameter plus a scale per
 *        output channel ({@link Quantization#weightBytes})
 * @param weightBytes parameters × dtype bytes, or as quantized
 * @param kvBytesPerToken K and V of one token over all layers
 * @param kvSetting the {@code llm.engine.kv-cache-memory} setting the budget came from
 * @param kvBudgetBytes memory set aside for the KV cache (before rounding to blocks)
 * @param kvTokens tokens the KV cache holds: {@code kvBlocks × blockSize}
 * @param kvBlocks KV blocks to allocate
 * @param blockSize tokens per KV block
 * @param maxModelLen the longest sequence (prompt + completion) served: the setting or
 *        {@code max_position_embeddings}, lowered to {@code kvTokens} when that is less and the setting was not given
 * @param warnings what was adjusted, for the startup log
 * @param kvCacheDtype what the KV cache stores (resolved: never {@code auto})
 * @param packedWeights {@code llm.model.packed-weights}: {@code weightBytes} includes the packed copy of the
 *        linears ({@link PackedWeights#extraBytes})
 * @param stepReserveBytes on CUDA, the memory set aside for a step beside the weights and the KV cache
 *        ({@link #cudaStepReserve}); 0 on the CPU
 */
public record MemoryPlan(
        Device device,
        DType dtype,
        Quantization quantization,
        long weightBytes,
        long kvBytesPerToken,
        KvCacheMemory kvSetting,
        long kvBudgetBytes,
        long kvTokens,
        int kvBlocks,
        int blockSize,
        int maxModelLen,
        List<String> warnings,
        KvCacheDType kvCacheDtype,
        boolean packedWeights,
        long stepReserveBytes) {

    public enum DeviceKind { CPU, CUDA }

    /**
     * The device's memory, measured before the weights are loaded. For {@link DeviceKind#CPU} this
     * is host memory: total and free (available) host memory.
     */
    public record Device(DeviceKind kind, long totalBytes, long freeBytes) {
        public Device {
            if (totalBytes <= 0 || freeBytes < 0 || freeBytes > totalBytes) {
                throw new IllegalArgumentException("device memory must satisfy 0 <= free <= total and total > 0, was free="
                        + freeBytes + " total=" + totalBytes);
            }
        }

        public static Device cpu(long hostTotalBytes, long hostFreeBytes) {
            return new Device(DeviceKind.CPU, hostTotalBytes, hostFreeBytes);
        }

        public static Device cuda(long totalBytes, long freeBytes) {
            return new Device(DeviceKind.CUDA, totalBytes, freeBytes);
        }

        String memoryName() {
            return kind == DeviceKind.CPU ? "host memory" : "GPU memory";
        }
    }

    public static final double CUDA_AUTO_FRACTION = 0.90;
    /**
     * Tokens of one engine step when the caller does not say ({@code llm.engine.max-num-batched-tokens}'s default):
     * the step size {@link #cudaStepReserve} plans for.
     */
    public static final int DEFAULT_STEP_TOKENS = 2048;
    /**
     * libtorch's share of the GPU beside the weights, the KV cache, attention's workspace and a step's activations:
     * cuBLAS's workspace, kernels loaded on first use, the caching allocator's rounding of every weight and KV
     * tensor, the logits scratch. Measured with Llama-3.1-8B on an H200 ({@code Llama8bOnGpuIT}): 0.18 GiB held
     * after loading beyond the CUDA context, the weights and the KV cache with a 52 MiB attention workspace (int8,
     * 17K tokens of KV), 0.24-0.37 GiB with a 128 MiB one (int8; bf16 with 61K tokens of KV in 64 tensors); this
     * leaves room over that.
     */
    public static final long CUDA_FIXED_RESERVE_BYTES = 332L << 20;
    public static final double CPU_AUTO_FRACTION = 0.25;
    /** The shortest context worth serving: a chat prompt with its system block and a short answer. */
    public static final int MIN_CONTEXT_TOKENS = 512;
    public static final String MAX_MODEL_LEN_PROPERTY = "llm.engine.max-model-len";
    /** The setting that chooses the compute dtype, named in the advice of refusals. */
    public static final String DTYPE_PROPERTY = "llm.model.dtype";

    public MemoryPlan {
        warnings = List.copyOf(warnings);
    }

    /**
     * Plans the memory of {@code config} on {@code device}.
     *
     * @param dtype compute dtype of weights and KV cache
     * @param kvSetting {@code llm.engine.kv-cache-memory}
     * @param maxModelLenSetting {@code llm.engine.max-model-len}, or null for {@code max_position_embeddings}
     * @param blockSize tokens per KV block (e.g. 16)
     * @throws MemoryPlanException when the model or the settings do not fit; the message says what to change
     */
    public static MemoryPlan plan(ModelConfig config, DType dtype, Device device, KvCacheMemory kvSetting,
                                  Integer maxModelLenSetting, int blockSize) {
        return plan(config, dtype, Quantization.NONE, device, kvSetting, maxModelLenSetting, blockSize, KvCacheDType.AUTO);
    }

    /** As above, with the weights quantized as {@code quantization} says. */
    public static MemoryPlan plan(ModelConfig config, DType dtype, Quantization quantization, Device device,
                                  KvCacheMemory kvSetting, Integer maxModelLenSetting, int blockSize) {
        return plan(config, dtype, quantization, device, kvSetting, maxModelLenSetting, blockSize, KvCacheDType.AUTO);
    }

    /** As above, unquantized, with the KV cache in {@code kvDtype}. */
    public static MemoryPlan plan(ModelConfig config, DType dtype, Device device, KvCacheMemory kvSetting,
                                  Integer maxModelLenSetting, int blockSize, KvCacheDType kvDtype) {
        return plan(config, dtype, Quantization.NONE, device, kvSetting, maxModelLenSetting, blockSize, kvDtype);
    }

    /**
     * Plans the memory of {@code config} on {@code device} with the weights quantized as {@code quantization}
     * says and the KV cache in {@code kvDtype} ({@code auto} = the compute dtype).
     *
     * @throws MemoryPlanException when the model or the settings do not fit; the message says what to change
     */
    public static MemoryPlan plan(ModelConfig config, DType dtype, Quantization quantization, Device device,
                                  KvCacheMemory kvSetting, Integer maxModelLenSetting, int blockSize,
                                  KvCacheDType kvDtype) {
        return plan(config, dtype, quantization, device, kvSetting, maxModelLenSetting, blockSize, kvDtype, false);
    }

    /**
     * As below, for steps of {@link #DEFAULT_STEP_TOKENS} tokens and {@link LlamaModel#LOGITS_SCRATCH_ROWS}
     * sequences.
     */
    public static MemoryPlan plan(ModelConfig config, DType dtype, Quantization quantization, Device device,
                                  KvCacheMemory kvSetting, Integer maxModelLenSetting, int blockSize,
                                  KvCacheDType kvDtype, boolean packedWeights) {
        return plan(config, dtype, quantization, device, kvSetting, maxModelLenSetting, blockSize, kvDtype,
                packedWeights, DEFAULT_STEP_TOKENS, LlamaModel.LOGITS_SCRATCH_ROWS);
    }

    /**
     * As above, with {@code packedWeights} ({@code llm.model.packed-weights}): the oneDNN-packed copy of the linear
     * weights counts as weights; on CUDA, steps of up to {@code stepTokens} tokens
     * ({@code llm.engine.max-num-batched-tokens}) of up to {@code maxNumSeqs} sequences
     * ({@code llm.engine.max-num-seqs}) have their memory set aside ({@link #cudaStepReserve}).
     */
    public static MemoryPlan plan(ModelConfig config, DType dtype, Quantization quantization, Device device,
                                  KvCacheMemory kvSetting, Integer maxModelLenSetting, int blockSize,
                                  KvCacheDType kvDtype, boolean packedWeights, int stepTokens, int maxNumSeqs) {
        KvCacheDType kv = kvDtype.resolve(computeDType(dtype));
        if (blockSize <= 0) {
            throw new IllegalArgumentException("KV block size must be positive, was " + blockSize);
        }
        int maxPos = config.maxPositionEmbeddings();
        if (maxModelLenSetting != null && (maxModelLenSetting < 2 || maxModelLenSetting > maxPos)) {
            throw new MemoryPlanException(MAX_MODEL_LEN_PROPERTY + "=" + maxModelLenSetting
                    + " is out of range: it must be between 2 (a one-token prompt and one completion token) and the"
                    + " model's max_position_embeddings (" + maxPos + "); leave it unset to use " + maxPos);
        }
        String memory = device.memoryName();
        long weightBytes = PackedWeights.residentBytes(config, quantization, dtype.bytes(), packedWeights);
        long kvPerToken = kv.bytesPerToken(config);

        if (weightBytes > device.freeBytes()) {
            String has = weightBytes > device.totalBytes()
                    ? "the " + device.kind() + " device has only " + MemorySize.format(device.totalBytes()) + " of "
                            + memory + " in total"
                    : "only " + MemorySize.format(device.freeBytes()) + " of the " + device.kind() + " device's "
                            + MemorySize.format(device.totalBytes()) + " of " + memory
                            + " are free (other processes use the rest)";
            throw new MemoryPlanException("The model's weights do not fit: " + config.parameterCount()
                    + " parameters in " + weightsName(dtype, quantization, packedWeights) + " need "
                    + MemorySize.format(weightBytes) + " (" + weightBytes + " bytes), but " + has + ". "
                    + (packedWeights ? "Set " + PackedWeights.PROPERTY + "=false (one copy of the linears), or: " : "")
                    + weightAdvice(dtype, quantization, device));
        }
        long afterWeights = device.freeBytes() - weightBytes;
        long reserve = device.kind() == DeviceKind.CUDA
                ? cudaStepReserve(config, stepTokens, maxNumSeqs, dtype.bytes(), quantization, kv, blockSize) : 0;

        long budget;
        if (kvSetting.auto()) {
            if (device.kind() == DeviceKind.CUDA) {
                long slack = (long) Math.ceil(afterWeights * (1 - CUDA_AUTO_FRACTION));
                budget = Math.max(0, afterWeights - Math.max(reserve, slack));
            } else {
                budget = (long) Math.floor(afterWeights * CPU_AUTO_FRACTION);
            }
        } else {
            budget = kvSetting.bytes();
            if (budget > afterWeights - reserve) {
                long most = Math.max(0, afterWeights - reserve);
                throw new MemoryPlanException(KvCacheMemory.PROPERTY + "=" + kvSetting + " does not fit: after the"
                        + " weights (" + MemorySize.format(weightBytes) + ") only " + MemorySize.format(afterWeights)
                        + " of " + memory + " are free on the " + device.kind() + " device"
                        + (reserve > 0 ? ", and a step of " + stepTokens + " tokens needs " + MemorySize.format(reserve)
                                + " of them" : "") + "; set " + KvCacheMemory.PROPERTY + " to at most "
                        + MemorySize.format(most) + (reserve > 0 ? " (or lower llm.engine.max-num-batched-tokens)"
                                : " (leave room for activations)") + " or to auto");
            }
        }
        long blocks = Math.min(Integer.MAX_VALUE, budget / kvPerToken / blockSize);
        long tokens = blocks * blockSize;

        int requested = maxModelLenSetting != null ? maxModelLenSetting : maxPos;
        long minTokens = ceilToBlock(Math.min(MIN_CONTEXT_TOKENS, requested), blockSize);
        String budgetText = "the KV cache budget of " + MemorySize.format(budget) + " (" + KvCacheMemory.PROPERTY
                + "=" + kvSetting + (kvSetting.auto() ? ": " + autoRule(device.kind(), reserve) : "") + ")";
        if (tokens < minTokens) {
            throw new MemoryPlanException("The KV cache is too small: " + budgetText + " holds " + tokens
                    + " tokens at " + kvPerToken + " bytes per token, less than one sequence of " + minTokens
                    + " tokens (" + MemorySize.format(minTokens * kvPerToken) + "). "
                    + (kvSetting.auto()
                        ? "Free " + memory + " (" + MemorySize.format(afterWeights) + " free after the weights), use a"
                                + " device with more memory" + (dtype == DType.F32 ? ", or set " + DTYPE_PROPERTY
                                + "=bfloat16 or float16 (half the bytes)" : "") + fp8Advice(kv)
                        : "Set " + KvCacheMemory.PROPERTY + " to at least " + MemorySize.format(minTokens * kvPerToken)
                                + " or to auto"));
        }

        List<String> warnings = new ArrayList<>();
        int maxModelLen = requested;
        if (tokens < requested) {
            if (maxModelLenSetting != null) {
                throw new MemoryPlanException(MAX_MODEL_LEN_PROPERTY + "=" + requested + " does not fit: one sequence"
                        + " of " + requested + " tokens needs " + MemorySize.format(requested * kvPerToken)
                        + " of KV cache, but " + budgetText + " holds " + tokens + " tokens. Lower "
                        + MAX_MODEL_LEN_PROPERTY + " to at most " + tokens + ", or give the KV cache more memory ("
                        + KvCacheMemory.PROPERTY + ", a device with more memory"
                        + (dtype == DType.F32 ? ", or " + DTYPE_PROPERTY + "=bfloat16/float16" : "") + fp8Advice(kv)
                        + ")");
            }
            maxModelLen = (int) tokens;
            warnings.add("max context lowered from " + requested + " (max_position_embeddings) to " + tokens
                    + " tokens: " + budgetText + " holds no more; set " + KvCacheMemory.PROPERTY
                    + " higher or use a device with more memory for the full context, or set "
                    + MAX_MODEL_LEN_PROPERTY + " to at most " + tokens + " to silence this warning");
        }
        return new MemoryPlan(device, dtype, quantization, weightBytes, kvPerToken, kvSetting, budget, tokens,
                (int) blocks, blockSize, maxModelLen, warnings, kv, packedWeights, reserve);
    }

    /** One line for the startup log. */
    public String summary() {
        String s = String.format(Locale.ROOT,
                "memory plan: device %s (%s total, %s free before loading), dtype %s, weights %s (%d bytes), "
                        + "KV cache %d bytes/token (%s), KV budget %s (%s=%s%s) = %d tokens in %d blocks of %d, "
                        + "max context %d tokens",
                device.kind(), MemorySize.format(device.totalBytes()), MemorySize.format(device.freeBytes()),
                weightsName(dtype, quantization, packedWeights), MemorySize.format(weightBytes), weightBytes, kvBytesPerToken,
                kvCacheDtype.optionName(),
                MemorySize.format(kvBudgetBytes), KvCacheMemory.PROPERTY, kvSetting,
                kvSetting.auto() ? ": " + autoRule(device.kind(), stepReserveBytes) : "", kvTokens, kvBlocks,
                blockSize, maxModelLen);
        return warnings.isEmpty() ? s : s + "; WARNING: " + String.join("; ", warnings);
    }

    /** The names the settings and transformers use: bfloat16, float16, float32. */
    public static String dtypeName(DType dtype) {
        return switch (dtype) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F32 -> "float32";
        };
    }

    private static ComputeDType computeDType(DType dtype) {
        return switch (dtype) {
            case BF16 -> ComputeDType.BFLOAT16;
            case F16 -> ComputeDType.FLOAT16;
            case F32 -> ComputeDType.FLOAT32;
        };
    }

    private static String fp8Advice(KvCacheDType kv) {
        return kv.fp8() ? "" : ", or " + KvCacheDType.PROPERTY + "=float8_e4m3 (about half the KV bytes)";
    }

    /**
     * {@code bfloat16}, {@code bfloat16 with int8 linears} when quantized, {@code bfloat16 + a packed copy of the
     * linears} with {@code llm.model.packed-weights}.
     */
    static String weightsName(DType dtype, Quantization quantization, boolean packedWeights) {
        String name = quantization == Quantization.NONE ? dtypeName(dtype)
                : dtypeName(dtype) + " with " + quantization.optionName() + " linears";
        return packedWeights ? name + " + a packed copy of the linears (" + PackedWeights.PROPERTY + ")" : name;
    }

    private static String weightAdvice(DType dtype, Quantization quantization, Device device) {
        String more = device.kind() == DeviceKind.CPU
                ? "run on a GPU or a host with more memory"
                : "use a GPU with more memory (or free it)";
        if (dtype == DType.F32) {
            return "Set " + DTYPE_PROPERTY + "=bfloat16 or float16 (half the bytes), or " + more + ".";
        }
        if (quantization == Quantization.NONE) {
            return "Set " + Quantization.PROPERTY + "=int8 (int8 linear weights: about half the bytes), use a smaller"
                    + " checkpoint, or " + more + ".";
        }
        return "Use a smaller checkpoint, or " + more + ".";
    }

    private static String autoRule(DeviceKind kind, long reserve) {
        return kind == DeviceKind.CUDA
                ? "the GPU memory free after the weights, less " + MemorySize.format(reserve)
                        + " for a step or 10 %, whichever is larger"
                : "25 % of the host memory free after the weights";
    }

    /**
     * On CUDA, the memory one step takes beside the weights and the KV cache: {@link #CUDA_FIXED_RESERVE_BYTES};
     * attention's workspace ({@link LlamaModel#cudaAttentionWorkspaceBytes}: 128 MiB for the 8B); the activations of
     * {@code stepTokens} tokens T in the compute dtype (gate, up and their product [T, intermediate]; hidden state,
     * residual, norm output, q, k, v, attention and projection outputs [T, hidden]); the logits of
     * R = min(T, max({@link LlamaModel#LOGITS_SCRATCH_ROWS}, {@code maxNumSeqs})) rows, one per sequence of a decode
     * step ([R, vocab] in the compute dtype and in float32); and with int8 linears the largest int8 weight widened
     * to the compute dtype for its GEMM (at most {@link LlamaModel#INT8_WIDEN_ROWS} output channels at a time) with
     * its product and the slice's ([T, out] twice; R rows for the lm_head). Llama-3.1-8B, int8, 2,048 tokens:
     * 1.00 GiB; measured on an H200 ({@code Llama8bOnGpuIT}), such steps took 0.66-0.74 GiB beyond the weights, the
     * KV cache and the CUDA context after a 16,384-token prefill in chunks of 2,048.
     */
    public static long cudaStepReserve(ModelConfig config, int stepTokens, int maxNumSeqs, int computeBytes,
                                       Quantization quantization, KvCacheDType kv, int blockSize) {
        if (stepTokens <= 0 || maxNumSeqs <= 0) {
            throw new IllegalArgumentException("step tokens and sequences must be positive, were " + stepTokens
                    + " and " + maxNumSeqs);
        }
        long t = stepTokens;
        long logitRows = Math.min(t, Math.max(LlamaModel.LOGITS_SCRATCH_ROWS, maxNumSeqs));
        long vocab = config.vocabSize();
        long activations = t * (3L * config.intermediateSize() + 8L * config.hiddenSize()) * computeBytes
                + logitRows * vocab * (computeBytes + 4);
        long widened = 0;                                  // the largest int8 weight widened, with its products
        for (Map.Entry<String, long[]> e : quantization.deviceShapes(config).entrySet()) {
            long[] shape = e.getValue();                   // [out, in]
            if (shape.length == 2 && quantization.quantizes(e.getKey())) {
                long rows = e.getKey().equals(LlamaModel.LM_HEAD) ? logitRows : t;
                widened = Math.max(widened, widenBytes(shape[0], shape[1], rows, computeBytes));
            }
        }
        return CUDA_FIXED_RESERVE_BYTES + LlamaModel.cudaAttentionWorkspaceBytes(config, blockSize, stepTokens, kv)
                + activations + widened;
    }

    /** An int8 [out, in] weight widened a slice at a time for {@code rows} rows: the slice and two [rows, out]. */
    private static long widenBytes(long out, long in, long rows, int computeBytes) {
        return (Math.min(out, LlamaModel.INT8_WIDEN_ROWS) * in + 2 * rows * out) * computeBytes;
    }

    private static long ceilToBlock(long tokens, int blockSize) {
        return (tokens + blockSize - 1) / blockSize * blockSize;
    }
}
