package dev.llamaserve.engine.model;

import dev.llamaserve.engine.checkpoint.DType;
import java.util.Locale;

/** A dtype the forward pass computes in, with libtorch's ScalarType code (as TorchScript's dialect takes it). */
public enum ComputeDType {
    FLOAT32("float32", 6, 4), FLOAT16("float16", 5, 2), BFLOAT16("bfloat16", 15, 2);

    private final String optionName;
    private final int torchCode;
    private final int bytes;

    ComputeDType(String optionName, int torchCode, int bytes) {
        this.optionName = optionName;
        this.torchCode = torchCode;
        this.bytes = bytes;
    }

    public String optionName() {
        return optionName;
    }

    /** {@code c10::ScalarType} code: 6 float32, 5 float16, 15 bfloat16. */
    public int torchCode() {
        return torchCode;
    }

    public int bytes() {
        return bytes;
    }

    /** The dtype of an option string, or null for {@code auto} or anything unknown. */
    public static ComputeDType parse(String s) {
        String n = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        for (ComputeDType d : values()) {
            if (d.optionName.equals(n)) {
                return d;
            }
        }
        return null;
    }

    /** libtorch ScalarType code of a stored safetensors dtype. */
    public static int torchCode(DType stored) {
        return switch (stored) {
            case F32 -> 6;
            case F16 -> 5;
            case BF16 -> 15;
        };
    }
}
