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
 * @param quantization weight quantization made at load ({@code llm.model.quantization})
 */
public record ModelOptions(String device, String dtype, int kvCacheTokens, int maxChunkTokens,
                           Quantization quantization) {

    public ModelOptions {
        device = device == null ? "auto" : device.trim().toLowerCase(Locale.ROOT);
        dtype = dtype == null ? "auto" : dtype.trim().toLowerCase(Locale.ROOT);
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
        quantization = quantization == null ? Quantization.NONE : quantization;
    }

    /** Weights unquantized. */
    public ModelOptions(String device, String dtype, int kvCacheTokens, int maxChunkTokens) {
        this(device, dtype, kvCacheTokens, maxChunkTokens, Quantization.NONE);
    }

    public static ModelOptions of(String device, String dtype, int kvCacheTokens) {
        return new ModelOptions(device, dtype, kvCacheTokens, 512);
    }
}
