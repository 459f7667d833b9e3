package dev.llamaserve.engine.model;

import static dev.llamaserve.engine.model.LogitRows.argmax;
import static dev.llamaserve.engine.model.LogitRows.margin;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.checkpoint.SafetensorsWriter;
import dev.llamaserve.engine.checkpoint.TensorInfo;
import dev.llamaserve.engine.testing.TestDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code llm.model.quantization=int8-lm-head} on a checkpoint with tied embeddings (Llama-3.2-1B and the demo
 * checkpoint are tied; the tiny fixture is not, so this test ties it: its {@code embed_tokens} alone, no
 * {@code lm_head}). The output projection gets its own int8 copy of the embedding while the lookup keeps the bf16
 * one: the weights are counted that way ({@link Quantization#weightBytes}, one int8 copy plus its scales on top of
 * {@code int8}), the logits differ from {@code int8}'s by the output projection's rounding alone, and stay within
 * issue 12's bound of the unquantized tied model (max |Δlogprob| ≤ 0.15, argmax equal where its margin ≥ 0.1).
 */
class TiedInt8LmHeadIT {

    private static final int[] IDS = {483, 320, 350, 459, 296, 397, 426, 115, 28, 153, 145, 447, 467, 2, 255, 420};

    @TempDir
    Path tmp;

    @Test
    void int8LmHeadOnTiedEmbeddingsQuantizesTheOutputProjectionOnly() throws IOException {
        Path dir = tiedCopyOfTheFixture();
        ModelConfig c = Checkpoint.open(dir).config();
        assertThat(c.tieWordEmbeddings()).isTrue();

        float[] none = logits(dir, Quantization.NONE, null);
        float[] int8 = logits(dir, Quantization.INT8, null);
        long[] bytes = new long[1];
        float[] head = logits(dir, Quantization.INT8_LM_HEAD, bytes);

        long embedding = (long) c.vocabSize() * c.hiddenSize();
        assertThat(bytes[0]).as("int8 linears, the bf16 embedding, and an int8 lm_head with bf16 scales")
                .isEqualTo(Quantization.INT8_LM_HEAD.weightBytes(c, 2))
                .isEqualTo(Quantization.INT8.weightBytes(c, 2) + embedding + 2L * c.vocabSize());

        int vocab = c.vocabSize();
        double maxVsInt8 = 0;
        double maxVsNone = 0;
        int clear = 0;
        for (int row = 0; row < IDS.length; row++) {
            double[] rowNone = LogitRows.row(none, row * vocab, vocab);
            double[] rowHead = LogitRows.row(head, row * vocab, vocab);
            double[] lpNone = LogitRows.logSoftmax(rowNone);
            double[] lpHead = LogitRows.logSoftmax(rowHead);
            double[] lpInt8 = LogitRows.logSoftmax(int8, row * vocab, vocab);
            for (int v = 0; v < vocab; v++) {
                maxVsNone = Math.max(maxVsNone, Math.abs(lpHead[v] - lpNone[v]));
                maxVsInt8 = Math.max(maxVsInt8, Math.abs(lpHead[v] - lpInt8[v]));
            }
            if (margin(rowNone) >= 0.1) {
                clear++;
                assertThat(argmax(rowHead)).as("row %d argmax", row).isEqualTo(argmax(rowNone));
            }
        }
        System.out.printf(java.util.Locale.ROOT, "tied int8-lm-head (tiny fixture tied, bf16, %d rows): max |Δlogprob| vs"
                + " none %.4f, vs int8 %.4f; argmax = none on all %d rows with margin ≥ 0.1; weights %d bytes%n",
                IDS.length, maxVsNone, maxVsInt8, clear, bytes[0]);
        assertThat(clear).isPositive();
        assertThat(maxVsInt8).as("lm_head rounded to int8 changes the logits").isPositive();
        assertThat(maxVsNone).as("max |Δlogprob| vs the unquantized tied model").isLessThanOrEqualTo(0.15);
    }

    /** The fixture's config with {@code tie_word_embeddings: true} and its tensors without {@code lm_head.weight}. */
    private Path tiedCopyOfTheFixture() throws IOException {
        Checkpoint fixture = Checkpoint.open(TinyFixture.dir());
        Path dir = tmp.resolve("tied");
        Files.createDirectories(dir);
        String config = Files.readString(TinyFixture.dir().resolve(Checkpoint.CONFIG));
        assertThat(config).contains("\"tie_word_embeddings\": false");
        Files.writeString(dir.resolve(Checkpoint.CONFIG), config.replace("\"tie_word_embeddings\": false",
                "\"tie_word_embeddings\": true"));
        SafetensorsWriter w = new SafetensorsWriter();
        for (TensorInfo t : fixture.tensors().values()) {
            if (!t.name().equals(LlamaModel.LM_HEAD)) {
                w.add(t.name(), t.dtype(), t.shape(), out -> TinyFixture.writeTensor(t, out));
            }
        }
        w.write(dir.resolve(Checkpoint.SINGLE));
        return dir;
    }

    /** bf16 logits of every row of {@link #IDS} as one prefill. */
    private static float[] logits(Path dir, Quantization q, long[] weightBytes) {
        LoadListener l = new LoadListener() {
            @Override
            public void progress(Progress p) {
            }

            @Override
            public void loaded(Summary s) {
                if (weightBytes != null) {
                    weightBytes[0] = s.weightBytes();
                }
            }
        };
        try (LlamaModel m = LlamaModel.load(Checkpoint.open(dir), new ModelOptions(TestDevice.option(), "bfloat16", 256, 64, q), l)) {
            return m.forward(ForwardBatch.contiguous(IDS, 0, true));   // [T * V]
        }
    }
}
