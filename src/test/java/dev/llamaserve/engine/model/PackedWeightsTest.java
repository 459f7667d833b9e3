package dev.llamaserve.engine.model;

import static dev.llamaserve.engine.model.TinyFixture.fixture;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import dev.llamaserve.engine.device.DevicePlanner;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code llm.model.packed-weights}: the bytes it adds, where it is refused, and which weight the step multiplies. */
class PackedWeightsTest {

    @Test
    void theCopyOfLlama8bCostsItsLinearsAndLmHeadOnceMore() {
        ModelConfig c = ModelConfigParser.parse(fixture("llama-3.1-8b-instruct/config.json"));
        // per layer q 4096², k and v 1024 × 4096, o 4096², gate/up/down 3 × 14336 × 4096 = 218,103,808;
        // × 32 layers = 6,979,321,856, + lm_head 128,256 × 4,096 = 525,336,576 → 7,504,658,432 × 2 bytes
        assertThat(PackedWeights.extraBytes(c, 2)).isEqualTo(15_009_316_864L);
        assertThat(PackedWeights.names(c)).hasSize(32 * 7 + 1).endsWith(LlamaModel.LM_HEAD)
                .startsWith("model.layers.0.self_attn.q_proj.weight");
    }

    @Test
    void itRunsOnlyOnTheCpuInBf16WithNativeBf16AndUnquantizedWeights() {
        assertThatCode(() -> PackedWeights.requireSupported(DevicePlanner.Kind.CPU, ComputeDType.BFLOAT16,
                Quantization.NONE, true)).doesNotThrowAnyException();
        assertThatThrownBy(() -> PackedWeights.requireSupported(DevicePlanner.Kind.CUDA, ComputeDType.BFLOAT16,
                Quantization.NONE, true)).hasMessageContaining("llm.model.packed-weights=true is not available")
                .hasMessageContaining("runs on CUDA").hasMessageContaining("set llm.model.packed-weights=false");
        assertThatThrownBy(() -> PackedWeights.requireSupported(DevicePlanner.Kind.CPU, ComputeDType.FLOAT32,
                Quantization.NONE, true)).hasMessageContaining("compute dtype is float32");
        assertThatThrownBy(() -> PackedWeights.requireSupported(DevicePlanner.Kind.CPU, ComputeDType.BFLOAT16,
                Quantization.INT8, true)).hasMessageContaining("llm.model.quantization is int8");
        assertThatThrownBy(() -> PackedWeights.requireSupported(DevicePlanner.Kind.CPU, ComputeDType.BFLOAT16,
                Quantization.NONE, false)).hasMessageContaining("no native bf16 dot products");
    }

    /**
     * The step's {@code linear} in mode 4 multiplies one row by the plain weight and several rows by
     * {@code <name>_packed} when there is one (here deliberately another matrix, so that the test sees which one
     * ran; float32, which oneDNN packs on every x86 CPU).
     */
    @Test
    void severalRowsUseThePackedCopyAndOneRowThePlainWeight() {
        try (PtNDManager m = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
            PtSymbolBlock s = LlamaModel.script(m);
            NDArray w = m.randomNormal(new Shape(8, 64));         // [out, in]
            NDArray other = m.randomNormal(new Shape(8, 64));     // [out, in]: what the packed copy holds
            NDArray x3 = m.randomNormal(new Shape(3, 64));        // [3, in]
            NDArray x1 = x3.get("0:1");                            // [1, in]
            PtNDArray packed;
            try (IValue o = IValue.from((PtNDArray) other);
                 IValue r = IValueUtils.runMethod(s, "pack_linear", o, IValue.from(PackedWeights.BATCH_HINT))) {
                packed = r.toTensor(m);
            }
            try (IValue withPacked = IValue.stringMapFrom(Map.of("a", (PtNDArray) w, "a" + PackedWeights.SUFFIX, packed));
                 IValue plainOnly = IValue.stringMapFrom(Map.of("a", (PtNDArray) w))) {
                assertClose(linear(s, m, x3, withPacked), x3.matMul(other.transpose()));   // [3, 8]
                assertClose(linear(s, m, x1, withPacked), x1.matMul(w.transpose()));       // [1, 8]
                assertClose(linear(s, m, x3, plainOnly), x3.matMul(w.transpose()));        // [3, 8]
            }
            s.close();
        }
    }

    private static NDArray linear(PtSymbolBlock s, PtNDManager m, NDArray x, IValue weights) {
        try (IValue xi = IValue.from((PtNDArray) x);
             IValue r = IValueUtils.runMethod(s, "linear", xi, weights, IValue.from("a"), IValue.from(4L))) {
            return r.toTensor(m);
        }
    }

    private static void assertClose(NDArray got, NDArray want) {
        assertThat(got.getShape()).isEqualTo(want.getShape());
        float[] g = got.toFloatArray();
        float[] e = want.toFloatArray();
        for (int i = 0; i < g.length; i++) {
            assertThat(g[i]).as("element %d", i).isCloseTo(e[i], org.assertj.core.data.Offset.offset(1e-3f));
        }
    }
}
