package dev.llamaserve.engine.model;

import java.util.Locale;

/**
 * What the KV cache stores ({@code llm.engine.kv-cache-dtype}). {@code auto} is the compute dtype. float8 e4m3
 * stores one byte per element plus one float32 scale per token, KV head and K or V (the token's amax / 448,
 * written with the token, so nothing needs calibrating and no later token rescales an earlier one); attention
 * upcasts what it reads to float32.
 */
public enum KvCacheDType {
    AUTO("auto"), FLOAT32("float32"), BFLOAT16("bfloat16"), FLOAT16("float16"), FLOAT8_E4M3("float8_e4m3");

    public static final String PROPERTY = "llm.engine.kv-cache-dtype";
    /** {@code c10::ScalarType::Float8_e4m3fn}: the cache holds its bits as uint8 (libtorch's CPU index ops lack it). */
    public static final int FLOAT8_E4M3FN_CODE = 24;
    /** Bytes of one float8 scale: one per token, layer, KV head, and K or V. */
    public static final int SCALE_BYTES = 4;

    private final String optionName;

    KvCacheDType(String optionName) {
        this.optionName = optionName;
    }

    public String optionName() {
        return optionName;
    }

    /** Parses the option; unknown values fail naming {@link #PROPERTY}. */
    public static KvCacheDType parse(String option) {
        String o = option == null ? "auto" : option.trim().toLowerCase(Locale.ROOT);
        for (KvCacheDType d : values()) {
            if (d.optionName.equals(o)) {
                return d;
            }
        }
        throw new IllegalArgumentException(PROPERTY + " must be auto, bfloat16, float16, float32 or float8_e4m3, was '"
                + option + "'");
    }

    /** What the cache stores when the model computes in {@code compute}. */
    public KvCacheDType resolve(ComputeDType compute) {
        if (this != AUTO) {
            return this;
        }
        return switch (compute) {
            case FLOAT32 -> FLOAT32;
            case FLOAT16 -> FLOAT16;
            case BFLOAT16 -> BFLOAT16;
        };
    }

    public boolean fp8() {
        return this == FLOAT8_E4M3;
    }

    /** libtorch ScalarType code of the cache tensors: uint8 (0) for float8, else the dtype's. */
    public int storageTorchCode() {
        return switch (resolved()) {
            case FLOAT32 -> 6;
            case FLOAT16 -> 5;
            case BFLOAT16 -> 15;
            default -> 0;
        };
    }

    /** Bytes of one stored element (float8: its bits, without the scale). */
    public int elementBytes() {
        return switch (resolved()) {
            case FLOAT32 -> 4;
            case FLOAT16, BFLOAT16 -> 2;
            default -> 1;
        };
    }

    /** Bytes of the K and V of one token over all layers, scales included. */
    public long bytesPerToken(ModelConfig config) {
        long heads = 2L * config.numHiddenLayers() * config.numKeyValueHeads();
        return heads * ((long) config.headDim() * elementBytes() + (fp8() ? SCALE_BYTES : 0));
    }

    private KvCacheDType resolved() {
        if (this == AUTO) {
            throw new IllegalStateException("resolve auto against the compute dtype first");
        }
        return this;
    }
}
