package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import dev.llamaserve.engine.checkpoint.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@code llama_step.py}'s {@code to_int8} (symmetric int8, one scale per output channel) on bf16 rows of very
 * different ranges, an all-zero row and a row with one outlier: per row, {@code scale = absmax / 127},
 * {@code q ∈ [-127, 127]} with ±127 at the absmax, and {@code |w − q × scale| ≤ scale / 2} for every element
 * (checked in Java, in double, on the bf16 values the checkpoint holds).
 */
class Int8QuantizeTest {

    private static final int OUT = 48;
    private static final int IN = 320;

    @Test
    void roundTripStaysWithinHalfAStepPerChannel() {
        float[] w = weights();
        try (PtNDManager m = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
            PtSymbolBlock module = LlamaModel.script(m);
            ByteBuffer raw = ByteBuffer.allocateDirect(OUT * IN * 2).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : w) {
                raw.putShort(DType.toBf16(v));
            }
            raw.flip();
            PtNDArray bytes = (PtNDArray) m.create(raw, new Shape(OUT, IN * 2), DataType.UINT8);   // [out, in*2] u8
            byte[] q;
            float[] scale;
            try (IValue r = IValueUtils.runMethod(module, "to_int8", IValue.from(bytes),
                    IValue.from((long) ComputeDType.torchCode(DType.BF16)), IValue.from((long) ComputeDType.FLOAT32.torchCode()),
                    IValue.from("cpu"))) {
                PtNDArray[] qs = r.toTensorArray(m);
                assertThat(qs[0].getShape()).isEqualTo(new Shape(OUT, IN));
                assertThat(qs[0].getDataType()).isEqualTo(DataType.INT8);
                assertThat(qs[1].getShape()).isEqualTo(new Shape(OUT));
                q = qs[0].toByteArray();
                scale = qs[1].toFloatArray();
            }
            for (int o = 0; o < OUT; o++) {
                double absmax = 0;
                for (int i = 0; i < IN; i++) {
                    absmax = Math.max(absmax, Math.abs(DType.fromBf16(DType.toBf16(w[o * IN + i]))));
                }
                if (absmax == 0) {
                    for (int i = 0; i < IN; i++) {
                        assertThat(q[o * IN + i]).as("row %d is all zero", o).isZero();
                    }
                    continue;
                }
                assertThat((double) scale[o]).as("scale of row %d", o).isCloseTo(absmax / 127, org.assertj.core.data.Offset.offset(absmax / 127 * 1e-6));
                int peak = 0;
                for (int i = 0; i < IN; i++) {
                    double orig = DType.fromBf16(DType.toBf16(w[o * IN + i]));
                    double deq = q[o * IN + i] * (double) scale[o];
                    assertThat(q[o * IN + i]).isBetween((byte) -127, (byte) 127);
                    assertThat(Math.abs(orig - deq)).as("row %d col %d: |w - deq(q(w))|", o, i)
                            .isLessThanOrEqualTo(scale[o] / 2 * (1 + 1e-5));
                    peak = Math.max(peak, Math.abs(q[o * IN + i]));
                }
                assertThat(peak).as("row %d reaches ±127 at its absmax", o).isEqualTo(127);
            }
        }
    }

    /** Rows scaled from 1e-4 to 30, row 5 all zero, row 7 with one outlier 100× its other entries. */
    private static float[] weights() {
        SplittableRandom rnd = new SplittableRandom(12);
        float[] w = new float[OUT * IN];
        for (int o = 0; o < OUT; o++) {
            double range = Math.pow(10, -4 + 5.5 * o / (OUT - 1));
            for (int i = 0; i < IN; i++) {
                w[o * IN + i] = o == 5 ? 0f : (float) ((rnd.nextDouble() * 2 - 1) * range);
            }
        }
        w[7 * IN + 13] = (float) (100 * Math.pow(10, -4 + 5.5 * 7 / (OUT - 1)));
        return w;
    }
}
