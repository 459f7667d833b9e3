package dev.llamaserve.engine.model;

import static dev.llamaserve.engine.model.LogitRows.argmax;
import static dev.llamaserve.engine.model.LogitRows.margin;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.checkpoint.SafetensorsWriter;
import dev.llamaserve.engine.checkpoint.TensorInfo;
import dev.llamaserve.engine.testing.TestDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code llm.model.quantization=int8} on a Llama-architecture checkpoint whose {@code intermediate_size} (200) is no
 * multiple of 32: neither the blocked int8 layout nor libtorch's pack kernel takes {@code down_proj} ([64, 200]).
 * Before, steps of few rows went to the pack kernel, which ended the JVM with SIGSEGV, and others to the blocked
 * kernel, which failed the step. Such weights are widened for the GEMM. The checkpoint is the tiny fixture with its
 * MLP padded by 8 zero channels, which computes the same function: its int8 logits keep issue 12's bound against
 * the fixture's unquantized ones, and a one-row step agrees with the prefill.
 */
class UnblockedInt8ShapesIT {

    private static final int[] IDS = {483, 320, 350, 459, 296, 397, 426, 115, 28, 153, 145, 447, 467, 2, 255, 420};
    private static final int PAD = 8;

    @TempDir
    Path tmp;

    @Test
    void int8WeightsOfAShapeNoKernelBlocksAreWidenedAndComputeTheSameModel() throws IOException {
        Path padded = paddedCopyOfTheFixture();
        ModelConfig c = Checkpoint.open(padded).config();
        assertThat(c.intermediateSize() % 32).isNotZero();
        assertThat(NativeKernels.blocksInt8(c, Quantization.INT8)).isFalse();

        float[] reference = logits(TinyFixture.dir(), IDS, Quantization.NONE);   // prefill: 16 rows, bf16 weights
        float[] widened = logits(padded, IDS, Quantization.INT8);
        float[] oneRow = logits(padded, new int[] {IDS[0]}, Quantization.INT8);   // decode-sized: one row
        int vocab = c.vocabSize();
        double max = 0;
        int clear = 0;
        for (int row = 0; row < IDS.length; row++) {
            double[] a = LogitRows.logSoftmax(reference, row * vocab, vocab);
            double[] b = LogitRows.logSoftmax(widened, row * vocab, vocab);
            for (int v = 0; v < vocab; v++) {
                max = Math.max(max, Math.abs(a[v] - b[v]));
            }
            double[] r = LogitRows.row(reference, row * vocab, vocab);
            if (margin(r) >= 0.1) {
                clear++;
                assertThat(argmax(LogitRows.row(widened, row * vocab, vocab))).as("row %d argmax", row).isEqualTo(argmax(r));
            }
        }
        System.out.printf(java.util.Locale.ROOT, "int8, intermediate_size %d (unblocked, widened) vs the fixture"
                + " unquantized: max |Δlogprob| %.5f over %d rows, argmax equal on %d clear rows%n", c.intermediateSize(),
                max, IDS.length, clear);
        assertThat(clear).isPositive();
        assertThat(max).as("issue 12's int8 bound against the unquantized model").isLessThanOrEqualTo(0.15);
        double[] first = LogitRows.logSoftmax(oneRow, 0, vocab);
        double[] firstOfPrefill = LogitRows.logSoftmax(widened, 0, vocab);
        for (int v = 0; v < vocab; v++) {
            assertThat(Math.abs(first[v] - firstOfPrefill[v])).as("one row as the prefill's first, id %d", v)
                    .isLessThan(0.05);
        }
    }

    /** The fixture with gate/up_proj given 8 zero rows and down_proj 8 zero columns: intermediate_size 192 → 200. */
    private Path paddedCopyOfTheFixture() throws IOException {
        Checkpoint fixture = Checkpoint.open(TinyFixture.dir());
        int inter = fixture.config().intermediateSize();
        Path dir = tmp.resolve("inter" + (inter + PAD));
        Files.createDirectories(dir);
        String config = Files.readString(TinyFixture.dir().resolve(Checkpoint.CONFIG));
        assertThat(config).contains("\"intermediate_size\": " + inter + ",");
        Files.writeString(dir.resolve(Checkpoint.CONFIG), config.replace("\"intermediate_size\": " + inter + ",",
                "\"intermediate_size\": " + (inter + PAD) + ","));
        SafetensorsWriter w = new SafetensorsWriter();
        for (TensorInfo t : fixture.tensors().values()) {
            long[] s = t.shape();
            int bytes = t.dtype().bytes();
            if (t.name().endsWith("gate_proj.weight") || t.name().endsWith("up_proj.weight")) {
                // [inter, h] -> [inter + 8, h]: zero rows after
                w.add(t.name(), t.dtype(), new long[] {s[0] + PAD, s[1]}, out -> {
                    TinyFixture.writeTensor(t, out);
                    out.write(new byte[Math.toIntExact(PAD * s[1] * bytes)]);
                });
            } else if (t.name().endsWith("down_proj.weight")) {
                // [h, inter] -> [h, inter + 8]: zero columns after each row
                w.add(t.name(), t.dtype(), new long[] {s[0], s[1] + PAD}, out -> {
                    ByteBuffer b = Checkpoint.map(t);
                    try {
                        byte[] row = new byte[Math.toIntExact(s[1] * bytes)];
                        for (long r = 0; r < s[0]; r++) {
                            b.get(row);
                            out.write(row);
                            out.write(new byte[PAD * bytes]);
                        }
                    } finally {
                        Checkpoint.unmap(b);
                    }
                });
            } else {
                w.add(t.name(), t.dtype(), s, out -> TinyFixture.writeTensor(t, out));
            }
        }
        w.write(dir.resolve(Checkpoint.SINGLE));
        return dir;
    }

    /** bf16 logits of every row of {@code ids} as one prefill. */
    private static float[] logits(Path dir, int[] ids, Quantization q) {
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(dir), new ModelOptions(TestDevice.option(), "bfloat16", 256,
                64, q), LoadListener.NONE)) {
            return m.forward(ForwardBatch.contiguous(ids, 0, true));   // [T * V]
        }
    }
}
