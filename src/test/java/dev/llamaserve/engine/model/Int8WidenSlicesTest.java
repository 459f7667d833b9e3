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
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@code llama_step.py}'s {@code linear} for int8 weights where no int8 kernel applies (the GPU; mode 0 here, on the
 * CPU in float32): a weight of more than {@link LlamaModel#INT8_WIDEN_ROWS} output channels is widened a slice at a
 * time, the last slice shorter, and gives what the whole weight gives: {@code x · (q × scale)ᵀ}, checked in double
 * in Java; a smaller weight is widened whole. The script's slice size is the Java constant the memory plan counts.
 */
class Int8WidenSlicesTest {

    private static final int IN = 24;
    private static final int ROWS = 3;

    @Test
    void aWeightOfMoreRowsThanASliceGivesTheProductOfTheWholeWeight() {
        int out = 2 * LlamaModel.INT8_WIDEN_ROWS + 1000;   // two whole slices and a short one
        check(out);
    }

    @Test
    void aSmallerWeightIsWidenedWhole() {
        check(100);
    }

    @Test
    void theScriptSlicesAsManyRowsAsTheMemoryPlanCounts() throws IOException {
        try (InputStream in = LlamaModel.class.getResourceAsStream(LlamaModel.SCRIPT)) {
            String script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertThat(script).contains("rows = " + LlamaModel.INT8_WIDEN_ROWS + " ");
        }
    }

    private static void check(int out) {
        SplittableRandom rnd = new SplittableRandom(out);
        float[] x = new float[ROWS * IN];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        byte[] q = new byte[out * IN];
        for (int i = 0; i < q.length; i++) {
            q[i] = (byte) (rnd.nextInt(255) - 127);
        }
        float[] scale = new float[out];
        for (int o = 0; o < out; o++) {
            scale[o] = (float) (0.001 + rnd.nextDouble() * 0.01);
        }
        try (PtNDManager m = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
            PtSymbolBlock module = LlamaModel.script(m);
            PtNDArray xs = (PtNDArray) m.create(x, new Shape(ROWS, IN));                        // [T, in] f32
            ByteBuffer qb = ByteBuffer.allocateDirect(q.length).put(q).flip();
            PtNDArray qs = (PtNDArray) m.create(qb, new Shape(out, IN), DataType.INT8);         // [out, in] int8
            PtNDArray ss = (PtNDArray) m.create(scale, new Shape(out));                         // [out] f32
            float[] y;
            try (IValue w = IValue.stringMapFrom(Map.of("w", qs, "w" + Quantization.SCALE_SUFFIX, ss));
                 IValue r = IValueUtils.runMethod(module, "linear", IValue.from(xs), w, IValue.from("w"),
                         IValue.from(0L))) {
                PtNDArray t = r.toTensor(m);                                                     // [T, out] f32
                assertThat(t.getShape()).isEqualTo(new Shape(ROWS, out));
                y = t.toFloatArray();
            }
            for (int r = 0; r < ROWS; r++) {
                for (int o = 0; o < out; o++) {
                    double want = 0;
                    for (int i = 0; i < IN; i++) {
                        want += (double) x[r * IN + i] * q[o * IN + i];
                    }
                    want *= scale[o];
                    assertThat((double) y[r * out + o]).as("row %d channel %d of %d", r, o, out)
                            .isCloseTo(want, org.assertj.core.data.Offset.offset(1e-4 * (1 + Math.abs(want))));
                }
            }
        }
    }
}
