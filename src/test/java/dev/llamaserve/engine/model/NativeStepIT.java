package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The tiny fixture in bf16 decodes the same tokens with llama-serve's native decode attention, RMSNorm, rotary embedding
 * and KV write as with the step script's own: after a 100-token prompt (7 pages), each of five decode steps is computed both ways at the same
 * position (the second overwrites the first's KV slot), with each instruction set this CPU has. Within the bf16
 * parity tolerance, the same greedy token.
 */
class NativeStepIT {

    @Test
    void nativeAttentionAndNormDecodeLikeTheScript() {
        Assumptions.assumeTrue(NativeKernels.load(), () -> "native kernels " + NativeKernels.status());
        for (NativeKernels.Isa isa : new NativeKernels.Isa[] {NativeKernels.Isa.AVX512_BF16, NativeKernels.Isa.AVX2}) {
            try (LlamaModel m = LlamaModel.load(Checkpoint.open(TinyFixture.dir()),
                    new ModelOptions("cpu", "bfloat16", 512, 128), LoadListener.NONE)) {
                assertThat(m.nativeAttention()).as("a bf16 model on the CPU attends natively").isTrue();
                assertThat(m.nativeRope()).as("and rotates q and k and writes its KV natively").isTrue();
                if (!m.nativeKernelsIsa(isa)) {
                    continue;   // this CPU lacks it
                }
                int[] prompt = IntStream.range(0, 100).map(i -> (i * 53 + 7) % 700 + 1).toArray();
                m.forward(ForwardBatch.contiguous(prompt, 0, false));
                int token = 42;
                for (int pos = prompt.length; pos < prompt.length + 5; pos++) {
                    m.nativeAttention(true);
                    m.nativeNorm(true);
                    m.nativeRope(true);
                    float[] nativeStep = m.forward(ForwardBatch.contiguous(new int[] {token}, pos, false));   // [V]
                    m.nativeAttention(false);
                    m.nativeNorm(false);
                    m.nativeRope(false);
                    float[] scriptStep = m.forward(ForwardBatch.contiguous(new int[] {token}, pos, false));   // [V]
                    assertThat(PagedAttentionTest.maxDiff(nativeStep, scriptStep))
                            .as("%s position %d: max |Δlogit|", isa, pos).isLessThanOrEqualTo(0.1);
                    int greedy = LlamaModelParityIT.argmax(scriptStep, 0);
                    assertThat(LlamaModelParityIT.argmax(nativeStep, 0)).as("%s position %d argmax", isa, pos)
                            .isEqualTo(greedy);
                    token = greedy;
                }
            }
        }
    }
}
