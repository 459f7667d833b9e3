package dev.llamaserve.engine.model;

import static dev.llamaserve.engine.model.TinyFixture.fixture;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.engine.checkpoint.CheckpointException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

class GenerationConfigParserTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static GenerationConfig parse(String json) {
        return GenerationConfigParser.parse(JSON.readTree(json), "gen");
    }

    @Test
    void real8bGenerationConfig() {
        GenerationConfig g = GenerationConfigParser.read(fixture("llama-3.1-8b-instruct"));
        assertThat(g.bosTokenId()).isEqualTo(128000);
        assertThat(g.eosTokenIds()).containsExactly(128001, 128008, 128009);
        assertThat(g.temperature()).isEqualTo(0.6);
        assertThat(g.topP()).isEqualTo(0.9);
        assertThat(g.doSample()).isTrue();
        assertThat(g.topK()).isNull();
        assertThat(g.repetitionPenalty()).isNull();
        assertThat(g.defaultTemperature()).isEqualTo(0.6);
        assertThat(g.defaultTopP()).isEqualTo(0.9);
        assertThat(g.defaultTopK()).isZero();
        assertThat(g.defaultRepetitionPenalty()).isEqualTo(1.0);
    }

    @Test
    void tinyFixtureGenerationConfig() {
        Path dir = fixture("tiny-llama31");
        GenerationConfig g = GenerationConfigParser.read(dir);
        assertThat(g.bosTokenId()).isEqualTo(512);
        assertThat(g.eosTokenIds()).containsExactly(513, 520, 521);
        assertThat(g.temperature()).isEqualTo(0.6);
        assertThat(g.topP()).isEqualTo(0.9);
        ModelConfig config = ModelConfigParser.parse(dir.resolve("config.json"));
        assertThat(g.stopTokenIds(config)).containsExactlyInAnyOrder(513, 520, 521);
    }

    @Test
    void absentFileGivesDefaults(@TempDir Path dir) {
        GenerationConfig g = GenerationConfigParser.read(dir);
        assertThat(g).isEqualTo(GenerationConfig.ABSENT);
        assertThat(g.eosTokenIds()).isEmpty();
        assertThat(g.defaultTemperature()).isEqualTo(1.0);
        assertThat(g.defaultTopP()).isEqualTo(1.0);
        assertThat(g.defaultTopK()).isZero();
        assertThat(g.defaultRepetitionPenalty()).isEqualTo(1.0);
    }

    @Test
    void eosAsSingleIntAndStopIdsFallBackToConfig() {
        GenerationConfig g = parse("{\"eos_token_id\": 128009, \"top_k\": 40, \"repetition_penalty\": 1.1}");
        assertThat(g.eosTokenIds()).containsExactly(128009);
        assertThat(g.topK()).isEqualTo(40);
        assertThat(g.defaultTopK()).isEqualTo(40);
        assertThat(g.defaultRepetitionPenalty()).isEqualTo(1.1);
        ModelConfig config = ModelConfigParser.parse(fixture("llama-3.1-8b-instruct/config.json"));
        assertThat(g.stopTokenIds(config)).containsExactlyInAnyOrder(128001, 128008, 128009);
        assertThat(GenerationConfig.ABSENT.stopTokenIds(config)).containsExactlyInAnyOrder(128001, 128008, 128009);
    }

    /** A fine-tune with no generation_config.json whose config.json names end_of_text only still stops at eot. */
    @Test
    void theTokenizersEosTokenStopsToo() {
        ObjectNode c = (ObjectNode) JSON.readTree(fixture("llama-3.1-8b-instruct/config.json").toFile());
        c.put("eos_token_id", 128001);
        ModelConfig config = ModelConfigParser.parse(c, "cfg");
        assertThat(GenerationConfig.ABSENT.stopTokenIds(config)).containsExactly(128001);
        assertThat(GenerationConfig.ABSENT.stopTokenIds(config, Optional.of(128009)))
                .containsExactlyInAnyOrder(128001, 128009);
        assertThat(GenerationConfig.ABSENT.stopTokenIds(config, Optional.of(128001))).containsExactly(128001);
    }

    @Test
    void doSampleFalseMeansGreedyDefault() {
        GenerationConfig g = parse("{\"do_sample\": false, \"temperature\": 0.6}");
        assertThat(g.doSample()).isFalse();
        assertThat(g.temperature()).isEqualTo(0.6);
        assertThat(g.defaultTemperature()).isEqualTo(0.0);
    }

    @Test
    void outOfRangeValuesNameTheField() {
        assertThatThrownBy(() -> parse("{\"top_p\": 1.5}"))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("'top_p' must be a number in (0.0, 1.0], was 1.5");
        assertThatThrownBy(() -> parse("{\"temperature\": -1}"))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("'temperature'");
        assertThatThrownBy(() -> parse("{\"top_k\": 2.5}"))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("'top_k' must be a non-negative integer");
        assertThatThrownBy(() -> parse("{\"do_sample\": \"yes\"}"))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("'do_sample'");
        assertThatThrownBy(() -> parse("{\"eos_token_id\": [1, \"x\"]}"))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("'eos_token_id'");
    }

    @Test
    void unreadableFileIsACheckpointError(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("generation_config.json"), "{not json");
        assertThatThrownBy(() -> GenerationConfigParser.read(dir))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("generation_config.json");
    }
}
