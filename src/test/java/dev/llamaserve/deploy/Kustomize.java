package dev.llamaserve.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The part of kustomize that k8s/ uses, in Java (no kustomize library is on Maven Central): {@code resources}
 * (files and directories), {@code patches} with a {@code path} to a strategic-merge patch, and
 * {@code images}. Strategic merge follows Kubernetes' patch merge keys for the lists these patches touch;
 * other lists are replaced, as in Kubernetes. {@code KustomizeOverlaysTest} checks the result against
 * {@code kubectl kustomize} where kubectl exists.
 */
final class Kustomize {

    /** Kubernetes' patchMergeKey of the lists the overlays may patch. */
    private static final Map<String, String> MERGE_KEYS = Map.of(
            "containers", "name",
            "initContainers", "name",
            "env", "name",
            "volumes", "name",
            "volumeMounts", "mountPath",
            "imagePullSecrets", "name");

    private static final List<String> SUPPORTED = List.of("apiVersion", "kind", "resources", "patches", "images");

    private Kustomize() {}

    static Manifests build(Path dir) {
        JsonNode kustomization = Yamls.read(dir.resolve("kustomization.yaml"));
        for (var field : kustomization.properties()) {
            if (!SUPPORTED.contains(field.getKey())) {
                throw new IllegalArgumentException(dir + ": kustomization field not supported here: " + field.getKey());
            }
        }
        List<JsonNode> objects = new ArrayList<>();
        for (JsonNode resource : kustomization.path("resources")) {
            Path path = dir.resolve(resource.asString()).normalize();
            objects.addAll(Files.isDirectory(path) ? build(path).objects() : read(path).objects());
        }
        for (JsonNode patchRef : kustomization.path("patches")) {
            JsonNode patch = Yamls.read(dir.resolve(patchRef.path("path").asString()));
            int target = indexOf(objects, patch);
            objects.set(target, merge(objects.get(target), patch, ""));
        }
        for (JsonNode image : kustomization.path("images")) {
            objects.forEach(o -> retag(o, image));
        }
        return new Manifests(List.copyOf(objects));
    }

    private static Manifests read(Path file) {
        try {
            return Manifests.parse(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int indexOf(List<JsonNode> objects, JsonNode patch) {
        for (int i = 0; i < objects.size(); i++) {
            JsonNode o = objects.get(i);
            if (o.path("kind").equals(patch.path("kind"))
                    && o.path("metadata").path("name").equals(patch.path("metadata").path("name"))) {
                return i;
            }
        }
        throw new IllegalArgumentException("patch target not found: " + patch.path("kind") + " "
                + patch.path("metadata").path("name"));
    }

    /** Strategic merge of {@code patch} into {@code target}; {@code field} is the name the value sits under. */
    static JsonNode merge(JsonNode target, JsonNode patch, String field) {
        if (target instanceof ObjectNode object && patch.isObject()) {
            ObjectNode merged = object.deepCopy();
            for (var entry : patch.properties()) {
                if (entry.getValue().isNull()) {
                    merged.remove(entry.getKey());
                } else {
                    JsonNode existing = merged.get(entry.getKey());
                    merged.set(entry.getKey(), existing == null ? entry.getValue().deepCopy()
                            : merge(existing, entry.getValue(), entry.getKey()));
                }
            }
            return merged;
        }
        String key = MERGE_KEYS.get(field);
        if (key != null && target instanceof ArrayNode list && patch.isArray()) {
            // As kustomize orders it: the patch's elements (merged with their originals), then the other originals.
            ArrayNode merged = list.arrayNode();
            List<JsonNode> rest = new ArrayList<>();
            list.forEach(rest::add);
            for (JsonNode element : patch) {
                JsonNode original = rest.stream().filter(o -> o.path(key).equals(element.path(key))).findFirst().orElse(null);
                rest.remove(original);
                merged.add(original == null ? element.deepCopy() : merge(original, element, ""));
            }
            rest.forEach(o -> merged.add(o.deepCopy()));
            return merged;
        }
        return patch.deepCopy();
    }

    private static void retag(JsonNode object, JsonNode image) {
        JsonNode podSpec = object.path("spec").path("template").path("spec");
        for (String list : List.of("containers", "initContainers")) {
            for (JsonNode container : podSpec.path(list)) {
                String current = container.path("image").asString("");
                int colon = current.lastIndexOf(':');
                String name = colon > current.lastIndexOf('/') ? current.substring(0, colon) : current;
                String tag = colon > current.lastIndexOf('/') ? current.substring(colon + 1) : "";
                if (name.equals(image.path("name").asString())) {
                    String newName = image.path("newName").asString(name);
                    String newTag = image.path("newTag").asString(tag);
                    ((ObjectNode) container).put("image", newTag.isEmpty() ? newName : newName + ":" + newTag);
                }
            }
        }
    }
}
