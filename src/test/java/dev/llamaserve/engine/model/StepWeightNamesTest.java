package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.engine.checkpoint.Checkpoint;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The TorchScript step reads its weights by Hugging Face name, and those names are the ones of
 * {@link ModelConfig#tensorShapes()}: a reordered map changes nothing, a renamed or missing one fails loudly.
 */
class StepWeightNamesTest {

    private static final ModelConfig CONFIG = Checkpoint.open(TinyFixture.dir()).config();

    /** Each name mapped to itself, in the given order. */
    private static Map<String, String> byName(List<String> names) {
        Map<String, String> m = new LinkedHashMap<>();
        names.forEach(n -> m.put(n, n));
        return m;
    }

    @Test
    void aReorderedMapGivesEveryNameItsOwnTensor() {
        List<String> reversed = new ArrayList<>(CONFIG.tensorShapes().keySet());
        Collections.reverse(reversed);
        Map<String, String> weights = LlamaModelLoader.stepWeights(CONFIG, byName(reversed));
        weights.forEach((name, tensor) -> {
            String expected = name.equals(LlamaModel.LM_HEAD) && CONFIG.tieWordEmbeddings()
                    ? LlamaModel.EMBED_TOKENS : name;
            assertThat(tensor).as(name).isEqualTo(expected);
        });
        assertThat(weights).containsKey(LlamaModel.LM_HEAD).hasSize(CONFIG.tensorShapes().size()
                + (CONFIG.tieWordEmbeddings() ? 1 : 0));
    }

    @Test
    void aRenamedWeightFailsNamingBothNames() {
        List<String> names = new ArrayList<>(CONFIG.tensorShapes().keySet());
        int i = names.indexOf("model.layers.1.mlp.up_proj.weight");
        names.set(i, "model.layers.1.mlp.upproj.weight");
        assertThatThrownBy(() -> LlamaModelLoader.stepWeights(CONFIG, byName(names)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("missing [model.layers.1.mlp.up_proj.weight]")
                .hasMessageContaining("unexpected [model.layers.1.mlp.upproj.weight]");
    }

    @Test
    void aMissingWeightFails() {
        List<String> names = new ArrayList<>(CONFIG.tensorShapes().keySet());
        names.remove("model.norm.weight");
        assertThatThrownBy(() -> LlamaModelLoader.stepWeights(CONFIG, byName(names)))
                .hasMessageContaining("missing [model.norm.weight]");
    }

    /**
     * Every name the script reads ({@code w["..."]}, {@code w[p + "..."]} per layer, and the names handed to
     * {@code linear(x, w, "...")} / {@code linear(x, w, p + "...")}) is one of the Java layout's, or the one
     * entries the model adds that are not checkpoint weights ({@link LlamaModel#INT8_WIDEN_SCRATCH},
     * {@link LlamaModel#LOGITS_SCRATCH}).
     */
    @Test
    void theScriptReadsExactlyTheJavaLayoutsNames() throws IOException {
        String script;
        try (InputStream in = LlamaModel.class.getResourceAsStream(LlamaModel.SCRIPT)) {
            script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Set<String> read = new TreeSet<>();
        Matcher global = Pattern.compile("(?:w\\[|, w, )\"([^\"]+)\"").matcher(script);
        while (global.find()) {
            read.add(global.group(1));
        }
        Matcher layer = Pattern.compile("(?:w\\[|, w, )p \\+ \"([^\"]+)\"").matcher(script);
        while (layer.find()) {
            for (int l = 0; l < CONFIG.numHiddenLayers(); l++) {
                read.add("model.layers." + l + "." + layer.group(1));
            }
        }
        assertThat(script).contains("p = \"model.layers.\" + str(l) + \".\"");
        Set<String> layout = new TreeSet<>(LlamaModelLoader.stepWeights(CONFIG, byName(
                new ArrayList<>(CONFIG.tensorShapes().keySet()))).keySet());
        layout.add(LlamaModel.INT8_WIDEN_SCRATCH);   // not a checkpoint weight: the int8 widening scratch (mode 7)
        layout.add(LlamaModel.LOGITS_SCRATCH);       // nor the logits' scratch
        assertThat(read).isEqualTo(layout);
    }
}
