package dev.llamaserve.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/** YAML files as Jackson trees, and Helm's values merge (maps merge, everything else is replaced). */
final class Yamls {

    private Yamls() {}

    static JsonNode read(Path file) {
        try {
            return Manifests.parseOne(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String write(JsonNode tree) {
        DumperOptions options = new DumperOptions();
        options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        return new Yaml(options).dump(Manifests.JSON.convertValue(tree, Object.class));
    }

    /** A copy of {@code base} with {@code overlay} merged in the way Helm merges values files. */
    static JsonNode deepMerge(JsonNode base, JsonNode overlay) {
        if (!(base instanceof ObjectNode baseObject) || !overlay.isObject()) {
            return overlay.deepCopy();
        }
        ObjectNode merged = baseObject.deepCopy();
        for (var field : overlay.properties()) {
            JsonNode existing = merged.get(field.getKey());
            merged.set(field.getKey(), existing == null ? field.getValue().deepCopy()
                    : deepMerge(existing, field.getValue()));
        }
        return merged;
    }
}
