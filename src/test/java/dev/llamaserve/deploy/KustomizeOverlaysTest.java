package dev.llamaserve.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;

/**
 * k8s/: the base with the cpu and gpu overlays, rendered and checked like the chart, and compared with the
 * chart's renderings (defaults for cpu, ci/gpu-values.yaml for gpu) field by field where they must agree.
 */
class KustomizeOverlaysTest {

    static final Path OVERLAYS = Path.of("k8s", "overlays");

    static Manifests overlay(String name) {
        return Kustomize.build(OVERLAYS.resolve(name));
    }

    static Manifests chartFor(String overlay) {
        return overlay.equals("gpu") ? ChartRenderer.template(ChartRenderer.GPU_VALUES, Map.of()) : ChartRenderer.template();
    }

    @Test
    void cpuOverlayPassesTheDeploymentChecks() {
        Manifests cpu = overlay("cpu");
        assertThat(cpu.kinds()).containsExactlyInAnyOrder(
                "ServiceAccount", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy");
        new DeploymentChecks(cpu.one("Deployment")).all(false, Duration.ofSeconds(600));
    }

    @Test
    void gpuOverlayPassesTheDeploymentChecks() {
        DeploymentChecks gpu = new DeploymentChecks(overlay("gpu").one("Deployment"));
        gpu.all(true, Duration.ofSeconds(900));
        assertThat(gpu.container().path("image").asString()).isEqualTo("llama-serve:0.1.0-cuda");
        assertThat(ApplicationFacts.modelPath(gpu.env())).isEqualTo(Path.of("/models/Llama-3.1-8B-Instruct"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "gpu"})
    void overlayAgreesWithTheChart(String name) {
        DeploymentChecks overlay = new DeploymentChecks(overlay(name).one("Deployment"));
        DeploymentChecks chart = new DeploymentChecks(chartFor(name).one("Deployment"));
        for (String field : List.of("startupProbe", "readinessProbe", "livenessProbe", "ports", "securityContext",
                "resources", "lifecycle", "image")) {
            assertThat(overlay.container().path(field)).as(name + " container " + field)
                    .isEqualTo(chart.container().path(field));
        }
        assertThat(overlay.env()).as(name + " environment").isEqualTo(chart.env());
        assertThat(sortedBy(overlay.container().path("volumeMounts"), "mountPath"))
                .isEqualTo(sortedBy(chart.container().path("volumeMounts"), "mountPath"));
        assertThat(sortedBy(overlay.podSpec().path("volumes"), "name"))
                .isEqualTo(sortedBy(chart.podSpec().path("volumes"), "name"));
        for (String field : List.of("securityContext", "terminationGracePeriodSeconds", "nodeSelector", "tolerations",
                "automountServiceAccountToken", "enableServiceLinks")) {
            assertThat(overlay.podSpec().path(field)).as(name + " pod " + field).isEqualTo(chart.podSpec().path(field));
        }
        assertThat(overlay.deployment().path("spec").path("strategy"))
                .isEqualTo(chart.deployment().path("spec").path("strategy"));
        JsonNode overlayService = overlay(name).one("Service").path("spec").path("ports");
        assertThat(overlayService).isEqualTo(chartFor(name).one("Service").path("spec").path("ports"));
        assertThat(overlay(name).one("NetworkPolicy").path("spec").path("ingress"))
                .isEqualTo(chartFor(name).one("NetworkPolicy").path("spec").path("ingress"));
        assertThat(overlay(name).one("PodDisruptionBudget").path("spec").path("maxUnavailable"))
                .isEqualTo(chartFor(name).one("PodDisruptionBudget").path("spec").path("maxUnavailable"));
    }

    /** The Java rendering equals kubectl's built-in kustomize, where kubectl is installed. */
    @ParameterizedTest
    @ValueSource(strings = {"cpu", "gpu"})
    void javaRenderingMatchesKubectlKustomize(String name) throws IOException, InterruptedException {
        Path kubectl = Stream.of(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .map(dir -> Path.of(dir, "kubectl")).filter(Files::isExecutable).findFirst().orElse(null);
        assumeTrue(kubectl != null, "kubectl is not installed: the Java kustomize rendering is not cross-checked");
        Process process = new ProcessBuilder(kubectl.toString(), "kustomize", OVERLAYS.resolve(name).toString())
                .redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(out).isZero();
        List<JsonNode> expected = sorted(Manifests.parse(out).objects());
        List<JsonNode> actual = sorted(overlay(name).objects());
        assertThat(actual).isEqualTo(expected);
    }

    private static List<JsonNode> sorted(List<JsonNode> objects) {
        return objects.stream().sorted(Comparator.comparing(o -> o.path("kind").asString())).toList();
    }

    private static List<JsonNode> sortedBy(JsonNode list, String key) {
        return java.util.stream.StreamSupport.stream(list.spliterator(), false)
                .sorted(Comparator.comparing(n -> n.path(key).asString())).toList();
    }
}
