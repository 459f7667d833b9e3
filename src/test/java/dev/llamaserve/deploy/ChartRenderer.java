package dev.llamaserve.deploy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.InstallCommand;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;

/** Runs helm (bundled in helm-java as a native library) on the chart under helm/llama-serve. */
final class ChartRenderer {

    static final Path CHART = Path.of("helm", "llama-serve");
    static final Path GPU_VALUES = CHART.resolve("ci").resolve("gpu-values.yaml");
    static final String RELEASE = "llm";
    static final String NAMESPACE = "serving";
    static final String KUBE_VERSION = "1.32.0";

    private ChartRenderer() {}

    /** {@code helm template} with the chart's defaults, then the given values files and --set values. */
    static Manifests template(Path valuesFile, Map<String, Object> sets) {
        TemplateCommand command = new Helm(CHART).template().withName(RELEASE).withNamespace(NAMESPACE)
                .withKubeVersion(KUBE_VERSION);
        if (valuesFile != null) {
            command = command.withValuesFile(valuesFile.toAbsolutePath());
        }
        for (Map.Entry<String, Object> set : sets.entrySet()) {
            command = command.set(set.getKey(), set.getValue());
        }
        return Manifests.parse(command.call());
    }

    static Manifests template() {
        return template(null, Map.of());
    }

    /**
     * What {@code helm install --dry-run} prints with these --set values, NOTES.txt included (helm template leaves
     * the notes out); client-only, no cluster.
     */
    static String installOutput(Map<String, Object> sets) {
        InstallCommand command = new Helm(CHART).install().withName(RELEASE).withNamespace(NAMESPACE)
                .withKubeVersion(KUBE_VERSION).clientOnly().dryRun();
        for (Map.Entry<String, Object> set : sets.entrySet()) {
            command = command.set(set.getKey(), set.getValue());
        }
        return command.call().getOutput();
    }

    /**
     * {@code helm lint --strict}. helm-java's lint takes no values file, so for other values the chart is
     * copied with those values merged into its values.yaml (the defaults helm lint would overlay them on).
     */
    static LintResult lintStrict(Path valuesFile, Path scratch) throws IOException {
        if (valuesFile == null) {
            return new Helm(CHART).lint().strict().call();
        }
        Path copy = scratch.resolve("llama-serve");
        copyTree(CHART, copy);
        JsonNode merged = Yamls.deepMerge(Yamls.read(CHART.resolve("values.yaml")), Yamls.read(valuesFile));
        Files.writeString(copy.resolve("values.yaml"), Yamls.write(merged));
        return new Helm(copy).lint().strict().call();
    }

    /**
     * The `helm test` hooks rendered as plain objects: helm-java's template leaves hooks out, so a copy of the
     * chart whose test templates lack the hook annotations is rendered instead.
     */
    static Manifests testHooks(Path scratch) throws IOException {
        Path copy = scratch.resolve("hooks").resolve("llama-serve");
        copyTree(CHART, copy);
        try (Stream<Path> tests = Files.list(copy.resolve("templates").resolve("tests"))) {
            for (Path test : tests.toList()) {
                String withoutHooks = Files.readString(test).lines()
                        .filter(line -> !line.trim().startsWith("helm.sh/hook"))
                        .collect(java.util.stream.Collectors.joining("\n"));
                Files.writeString(test, withoutHooks);
            }
        }
        return Manifests.parse(new Helm(copy).template().withName(RELEASE).withNamespace(NAMESPACE)
                .withKubeVersion(KUBE_VERSION).call());
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path p : paths.sorted(Comparator.naturalOrder()).toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
