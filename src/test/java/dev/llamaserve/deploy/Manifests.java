package dev.llamaserve.deploy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Kubernetes objects parsed from rendered YAML (a multi-document stream), as Jackson trees. */
record Manifests(List<JsonNode> objects) {

    static final JsonMapper JSON = JsonMapper.builder().build();

    static Manifests parse(String yaml) {
        List<JsonNode> objects = new ArrayList<>();
        for (Object document : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(yaml)) {
            if (document instanceof Map<?, ?> map && !map.isEmpty()) {
                objects.add(JSON.valueToTree(map));
            }
        }
        return new Manifests(List.copyOf(objects));
    }

    /** Parses a single YAML document (a values file, a kustomization, a patch). */
    static JsonNode parseOne(String yaml) {
        Object document = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
        return JSON.valueToTree(document == null ? Map.of() : document);
    }

    List<JsonNode> ofKind(String kind) {
        return objects.stream().filter(o -> kind.equals(o.path("kind").asString(""))).toList();
    }

    Optional<JsonNode> find(String kind) {
        List<JsonNode> found = ofKind(kind);
        if (found.size() > 1) {
            throw new AssertionError("more than one " + kind + ": " + found.size());
        }
        return found.stream().findFirst();
    }

    JsonNode one(String kind) {
        return find(kind).orElseThrow(() -> new AssertionError("no " + kind + " among " + kinds()));
    }

    List<String> kinds() {
        return objects.stream().map(o -> o.path("kind").asString("")).toList();
    }
}
