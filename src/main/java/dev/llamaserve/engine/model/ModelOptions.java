package dev.llamaserve.engine.model;

import java.util.Locale;

/**
 * How to load a model.
 *
 * @param device {@code auto} (CUDA when the loaded libtorch is a CUDA build and sees a GPU, else CPU),
 *               {@code cpu}, or {@code gpu:N}
 * @param dtype compute dtype: {@code auto}, {@code float32}, {@code float16} or {@code bfloat16}
 * @param kvCacheTokens token slots of the KV pool (per layer)
 * @param maxChunkTokens most new tokens one step may carry (callers chunk long prompts to this)
 * @param kvCacheDtype what the KV cache stores ({@link KvCacheDType}); {@code auto} = the compute dtype
 * @param kvBlockSize tokens per KV page: every sequence's context lies in whole pages of this many slots
 *                    (slot = page × kvBlockSize + offset), which attention reads in place; the engine's block
 *                    size must be a multiple of it
 * @param quantization weight quantization made at load ({@code llm.model.quantization})
 * @param packedWeights a second, oneDNN-packed copy of the linear weights for multi-row steps
 *                      ({@link PackedWeights}, {@code llm.model.packed-weights})
 * @param kvCachePreTouch zero-fill the KV pool at load, committing its memory before the first step
 *                        ({@code llm.engine.kv-cache-pre-touch}); else its pages are committed on first use
 */
public record ModelOptions(String device, String dtype, int kvCacheTokens, int maxChunkTokens, KvCacheDType kvCacheDtype,
                           int kvBlockSize, Quantization quantization, boolean packedWeights, boolean kvCachePreTouch) {

    public static final int DEFAULT_KV_BLOCK_SIZE = 16;

    public ModelOptions {
        device = device == null ? "auto" : device.trim().toLowerCase(Locale.ROOT);
        dtype = dtype == null ? "auto" : dtype.trim().toLowerCase(Locale.ROOT);
        kvCacheDtype = kvCacheDtype == null ? KvCacheDType.AUTO : kvCacheDtype;
        if (!device.equals("auto") && !device.equals("cpu") && !device.matches("gpu:\\d+")) {
            throw new IllegalArgumentException("device must be auto, cpu or gpu:N, was '" + device + "'");
        }
        if (ComputeDType.parse(dtype) == null && !dtype.equals("auto")) {
            throw new IllegalArgumentException("dtype must be auto, float32, float16 or bfloat16, was '" + dtype + "'");
        }
        if (kvCacheTokens <= 0) {
            throw new IllegalArgumentException("kvCacheTokens must be positive, was " + kvCacheTokens);
        }
        if (maxChunkTokens <= 0) {
            throw new IllegalArgumentException("maxChunkTokens must be positive, was " + maxChunkTokens);
        }
        if (kvBlockSize <= 0) {
            throw new IllegalArgumentException("kvBlockSize must be positive, was " + kvBlockSize);
        }
        quantization = quantization == null ? Quantization.NONE : quantization;
    }

    /** Weights quantized as {@code quantization}, without packed copies. */
    public ModelOptions(String device, String dtype, int kvCacheTokens, int maxChunkTokens, KvCacheDType kvCacheDtype,
                        int kvBlockSize, Quantization quantization) {
        this(device, dtype, kvCacheTokens, maxChunkTokens, kvCacheDtype, kvBlockSize, quantization, false, false);
    }

    /** Unquantized weights, the KV cache in {@code kvCacheDtype} in pages of {@code kvBlockSize}. */
    public ModelOptions(String device, String dtype, int kvCacheTokens, int maxChunkTokens, KvCacheDType kvCacheDtype,
                        int kvBlockSize) {
        this(device, dtype, kvCacheTokens, maxChunkTokens, kvCacheDtype, kvBlockSize, Quantization.NONE);
    }

    /** Weights quantized as {@code quantization}, the compute dtype's KV cache in pages of {@link #DEFAULT_KV_BLOCK_SIZE}. */
    public ModelOptions(String device, String dtype, int kvCacheTokens, int maxChunkTokens, Quantization quantization) {
        this(device, dtype, kvCacheTokens, maxChunkTokens, KvCacheDType.AUTO, DEFAULT_KV_BLOCK_SIZE, quantization);
    }

    /** The compute dtype's KV cache in pages of {@link #DEFAULT_KV_BLOCK_SIZE}, weights unquantized. */
    public ModelOptions(String device, String dtype, int kvCacheTokens, int maxChunkTokens) {
        this(device, dtype, kvCacheTokens, maxChunkTokens, KvCacheDType.AUTO, DEFAULT_KV_BLOCK_SIZE, Quantization.NONE);
    }

    public static ModelOptions of(String device, String dtype, int kvCacheTokens) {
        return new ModelOptions(device, dtype, kvCacheTokens, 512);
    }

    public ModelOptions withKvCacheDtype(KvCacheDType kv) {
        return new ModelOptions(device, dtype, kvCacheTokens, maxChunkTokens, kv, kvBlockSize, quantization, packedWeights,
                kvCachePreTouch);
    }

    public ModelOptions withPackedWeights(boolean packed) {
        return new ModelOptions(device, dtype, kvCacheTokens, maxChunkTokens, kvCacheDtype, kvBlockSize, quantization, packed,
                kvCachePreTouch);
    }

    public ModelOptions withKvCachePreTouch(boolean preTouch) {
        return new ModelOptions(device, dtype, kvCacheTokens, maxChunkTokens, kvCacheDtype, kvBlockSize, quantization,
                packedWeights, preTouch);
    }
}
