package dev.llamaserve.engine.checkpoint;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a safetensors checkpoint: where its bytes lie.
 *
 * @param name checkpoint key, e.g. {@code model.layers.0.self_attn.q_proj.weight}
 * @param dtype element type
 * @param shape dimensions, row-major
 * @param file the shard holding it
 * @param offset absolute byte offset of the data in {@code file}
 * @param byteLength bytes of data ({@code product(shape) * dtype.bytes()})
 */
public record TensorInfo(String name, DType dtype, long[] shape, Path file, long offset, long byteLength) {

    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " @" + file.getFileName() + "+" + offset;
    }
}
