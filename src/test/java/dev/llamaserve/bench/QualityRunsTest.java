package dev.llamaserve.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.llamaserve.engine.model.BenchCheckpoint;
import dev.llamaserve.engine.model.ModelConfig;
import dev.llamaserve.engine.model.ModelConfigParser;
import dev.llamaserve.engine.model.TinyFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The quality section's arithmetic on rows whose answer is known (no model: the section itself runs in the bench). */
class QualityRunsTest {

    @TempDir
    Path tmp;

    @Test
    void comparesLogprobsNotLogitsAndCountsArgmaxByRowKindAndMargin() {
        float[] reference = {
            2, 0, 0,       // clear (margin 2), a prompt row
            0, 0.05f, 0,   // unclear (margin 0.05), the first greedy row
            1, 0, 0};      // clear (margin 1), a greedy row
        float[] mode = {
            3, 1, 1,       // the same row shifted: the same logprobs
            0.05f, 0, 0,   // the near-tie flipped: |Δ| 0.05 at two entries
            0, 1, 0};      // the clear argmax lost: |Δ| 1 at two entries
        Map<String, Object> q = QualityRuns.compare(reference, mode, 3, 1);
        assertThat((double) q.get("max_abs_dlogprob")).isCloseTo(1.0, within(1e-6));
        assertThat((double) q.get("mean_abs_dlogprob")).isCloseTo(2.1 / 9, within(1e-6));
        assertThat(q).containsEntry("argmax_equal", "1/3").containsEntry("argmax_equal_clear", "1/2")
                .containsEntry("greedy_teacher_forced", "0/2").containsEntry("greedy_teacher_forced_clear", "0/1");
        assertThat(QualityRuns.line(q))
                .isEqualTo("max 1.0000 mean 0.2333, argmax 1/3 (margin ≥ 0.1: 1/2), greedy 0/2 (0/1)");
    }

    @Test
    void aNanAnywhereMakesTheMaximumNanAndRowsMustMatch() {
        float[] reference = {1, 0, 0, 1};
        float[] mode = {1, 0, Float.NaN, 1};
        assertThat((double) QualityRuns.compare(reference, mode, 2, 0).get("max_abs_dlogprob")).isNaN();
        assertThatThrownBy(() -> QualityRuns.compare(reference, new float[] {1, 0}, 2, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("vocab 2");
    }

    @Test
    void bfloat16IsShownAgainstFloat32WhereItFitsElseAgainstFloat16() throws Exception {
        Files.writeString(tmp.resolve("config.json"), BenchCheckpoint.CONFIG);
        ModelConfig oneB = ModelConfigParser.parse(tmp.resolve("config.json"));   // 4.9 GB in float32
        // 32 GB in float32
        ModelConfig eightB = ModelConfigParser.parse(TinyFixture.fixture("llama-3.1-8b-instruct/config.json"));
        long free = 23L << 30;
        assertThat(QualityRuns.scaleRow(oneB, "bfloat16", free).dtype()).isEqualTo("float32");
        assertThat(QualityRuns.scaleRow(oneB, "bfloat16", free).name()).isEqualTo("float32");
        assertThat(QualityRuns.scaleRow(eightB, "bfloat16", free).dtype()).isEqualTo("float16");
        assertThat(QualityRuns.scaleRow(oneB, "bfloat16", 8L << 30).dtype()).isEqualTo("float16");
        assertThat(QualityRuns.scaleRow(oneB, "float32", free)).isNull();
        assertThat(QualityRuns.scaleRow(oneB, "float16", free)).isNull();
        assertThat(QualityRuns.MODES.stream().map(QualityRuns.Mode::name)).containsExactly("int8", "int8-lm-head",
                "w8a8", "w8a8-lm-head", "kv float8_e4m3", "int8 + kv float8_e4m3");
    }
}
