package dev.llamaserve.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.LintResult;
import dev.llamaserve.engine.model.Quantization;
import dev.llamaserve.ops.health.ProbePaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/** helm lint --strict and helm template of helm/llama-serve, run in-process, and the rendered objects checked. */
class HelmChartTest {

    @TempDir
    Path scratch;

    @Test
    void lintsStrictWithDefaultAndGpuValues() throws IOException {
        for (Path values : new Path[] {null, ChartRenderer.GPU_VALUES}) {
            LintResult lint = ChartRenderer.lintStrict(values, Files.createTempDirectory(scratch, "lint"));
            assertThat(lint.isFailed()).as("helm lint --strict %s: %s", values, lint.getMessages()).isFalse();
            assertThat(lint.getMessages()).as("lint findings").allMatch(m -> m.startsWith("[INFO]"));
        }
    }

    @Test
    void defaultsRunTheDemoCheckpointOnCpu() {
        Manifests rendered = ChartRenderer.template();
        assertThat(rendered.kinds()).containsExactlyInAnyOrder(
                "NetworkPolicy", "PodDisruptionBudget", "ServiceAccount", "Service", "Deployment");
        DeploymentChecks deployment = new DeploymentChecks(rendered.one("Deployment"));
        deployment.all(false, Duration.ofSeconds(600));
        Map<String, String> env = deployment.env();
        assertThat(ApplicationFacts.modelPath(env)).as("no model path: the demo checkpoint").isNull();
        assertThat(env).containsEntry("LLM_MODEL_DEVICE", "cpu").doesNotContainKey("LLM_RATELIMIT_REDIS_URL")
                .containsEntry("LLM_MODEL_QUANTIZATION", "none").containsEntry("LLM_MODEL_PACKED_WEIGHTS", "false");
        assertThat(deployment.container().path("image").asString()).isEqualTo("llama-serve:0.1.0");
        assertThat(deployment.deployment().path("spec").path("replicas").asInt()).isEqualTo(1);
    }

    @Test
    void gpuValuesAddTheGpuAndAReadOnlyWeightsVolume() {
        DeploymentChecks deployment = new DeploymentChecks(
                ChartRenderer.template(ChartRenderer.GPU_VALUES, Map.of()).one("Deployment"));
        deployment.all(true, Duration.ofSeconds(900));
        assertThat(deployment.env()).containsEntry("LLM_MODEL_DEVICE", "gpu:0")
                .containsEntry("LLM_MODEL_PATH", "/models/Llama-3.1-8B-Instruct");
        assertThat(deployment.container().path("image").asString()).endsWith("-cuda");
        JsonNode model = deployment.volume("model");
        assertThat(model.path("persistentVolumeClaim").path("claimName").asString()).isEqualTo("llama-weights");
    }

    /** The checks are not vacuous: each broken rendering below fails them. */
    @Test
    void theChecksCatchBrokenRenderings() {
        Map<String, Map<String, Object>> broken = Map.of(
                "writable root filesystem", Map.of("securityContext.readOnlyRootFilesystem", false),
                "privilege escalation", Map.of("securityContext.allowPrivilegeEscalation", true),
                "a GPU the CPU defaults did not ask for", Map.of("gpu.enabled", true),
                "llm.cache-dir on the read-only root", Map.of("extraEnv[0].name", "LLM_CACHE_DIR",
                        "extraEnv[0].value", "/home/llama/.cache/llama-serve"),
                "JNA's temp dir left in ~/.cache", Map.of("writableDirs.tmp.mountPath", "/scratch",
                        "extraEnv[0].name", "JAVA_TOOL_OPTIONS", "extraEnv[0].value", "-Djava.io.tmpdir=/scratch"),
                "no margin after the drain", Map.of("lifecycle.terminationGraceMarginSeconds", 0),
                "a load longer than the startup probe allows", Map.of("model.loadTimeoutSeconds", 60));
        broken.forEach((what, sets) -> assertThatThrownBy(() -> new DeploymentChecks(
                ChartRenderer.template(null, sets).one("Deployment")).all(false, Duration.ofSeconds(600)))
                .as(what).isInstanceOf(AssertionError.class));
    }

    @Test
    void serviceTargetsTheApplicationPort() {
        Manifests rendered = ChartRenderer.template();
        JsonNode port = rendered.one("Service").path("spec").path("ports").path(0);
        DeploymentChecks deployment = new DeploymentChecks(rendered.one("Deployment"));
        assertThat(deployment.containerPort(port.path("targetPort"))).isEqualTo(ApplicationFacts.serverPort());
        JsonNode selector = rendered.one("Service").path("spec").path("selector");
        JsonNode podLabels = deployment.deployment().path("spec").path("template").path("metadata").path("labels");
        selector.properties().forEach(e -> assertThat(podLabels.path(e.getKey())).isEqualTo(e.getValue()));
        assertThat(rendered.one("PodDisruptionBudget").path("spec").path("selector").path("matchLabels"))
                .isEqualTo(deployment.deployment().path("spec").path("selector").path("matchLabels"));
    }

    @Test
    void drainTimeoutAndPreStopDriveTheGracePeriod() {
        DeploymentChecks deployment = new DeploymentChecks(ChartRenderer.template(null, Map.of(
                "ops.drainTimeoutSeconds", 120, "lifecycle.preStopSleepSeconds", 20)).one("Deployment"));
        assertThat(ApplicationFacts.drainTimeout(deployment.env())).isEqualTo(Duration.ofSeconds(120));
        deployment.gracePeriodCoversPreStopAndDrain();
        assertThat(deployment.podSpec().path("terminationGracePeriodSeconds").asInt()).isEqualTo(20 + 120 + 15);
    }

    @Test
    void startupProbeFollowsTheLoadTimeout() {
        DeploymentChecks deployment = new DeploymentChecks(ChartRenderer.template(null, Map.of(
                "model.loadTimeoutSeconds", 1805)).one("Deployment"));
        assertThat(deployment.container().path("startupProbe").path("failureThreshold").asInt()).isEqualTo(181);
        deployment.startupToleratesLoadOf(Duration.ofSeconds(1805));
    }

    @Test
    void quantizationAndPackedWeightsReachTheApplication() {
        Map<String, String> env = new DeploymentChecks(ChartRenderer.template(null,
                Map.of("model.quantization", "int8", "model.packedWeights", "true")).one("Deployment")).env();
        assertThat(env).containsEntry("LLM_MODEL_QUANTIZATION", "int8").containsEntry("LLM_MODEL_PACKED_WEIGHTS", "true");
    }

    @Test
    void theSchemaAcceptsEveryQuantizationTheApplicationDoes() {
        for (Quantization q : Quantization.values()) {
            assertThat(new DeploymentChecks(ChartRenderer.template(null, Map.of("model.quantization", q.optionName()))
                    .one("Deployment")).env()).as(q.optionName()).containsEntry("LLM_MODEL_QUANTIZATION", q.optionName());
        }
    }

    @Test
    void kvCachePreTouchReachesTheApplication() {
        assertThat(new DeploymentChecks(ChartRenderer.template(null, Map.of()).one("Deployment")).env())
                .containsEntry("LLM_ENGINE_KV_CACHE_PRE_TOUCH", "false");
        assertThat(new DeploymentChecks(ChartRenderer.template(null, Map.of("engine.kvCachePreTouch", "true"))
                .one("Deployment")).env()).containsEntry("LLM_ENGINE_KV_CACHE_PRE_TOUCH", "true");
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("engine.kvCachePreTouch", "sometimes")))
                .hasMessageContaining("/engine/kvCachePreTouch");
    }

    @Test
    void cpuThreadsReachTheApplication() {
        assertThat(new DeploymentChecks(ChartRenderer.template(null, Map.of()).one("Deployment")).env())
                .containsEntry("LLM_MODEL_CPU_THREADS", "auto");
        assertThat(new DeploymentChecks(ChartRenderer.template(null, Map.of("model.cpuThreads", 4)).one("Deployment"))
                .env()).containsEntry("LLM_MODEL_CPU_THREADS", "4");
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("model.cpuThreads", "all")))
                .hasMessageContaining("/model/cpuThreads");
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("model.cpuThreads", 0)))
                .hasMessageContaining("/model/cpuThreads");
    }

    @Test
    void schemaRejectsAWrongType() {
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("server.port", "eighty")))
                .hasMessageContaining("schema").hasMessageContaining("'/server/port': got string, want integer");
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("gpu.enabled", "maybe")))
                .hasMessageContaining("'/gpu/enabled': got string, want boolean");
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("model.volume.type", "nfs")))
                .hasMessageContaining("/model/volume/type");
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("model.quantization", "int4")))
                .hasMessageContaining("/model/quantization");
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("model.packedWeights", "yes")))
                .hasMessageContaining("'/model/packedWeights': got string, want boolean");
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("apiKeys.entries[0]", "alice:not-a-sha256")))
                .hasMessageContaining("/apiKeys/entries/0");
    }

    @Test
    void apiKeysRedisAndLimitsReachTheApplication() {
        String hash = "a".repeat(64);
        Manifests rendered = ChartRenderer.template(null, Map.of(
                "apiKeys.entries[0]", "alice:" + hash + ":60:100000",
                "rateLimit.redis.url", "redis://redis.serving.svc:6379",
                "rateLimit.requestsPerMinute", 600,
                "ops.maxConcurrentRequests", 64));
        DeploymentChecks deployment = new DeploymentChecks(rendered.one("Deployment"));
        Map<String, String> env = deployment.env();
        var binder = ApplicationFacts.binder(env);
        assertThat(binder.bind("llm.ratelimit.redis-url", String.class).get()).isEqualTo("redis://redis.serving.svc:6379");
        assertThat(binder.bind("llm.ratelimit.requests-per-minute", Integer.class).get()).isEqualTo(600);
        assertThat(binder.bind("llm.ops.max-concurrent-requests", Integer.class).get()).isEqualTo(64);
        String keysFile = binder.bind("llm.api.keys-file", String.class).get();
        JsonNode mount = deployment.mountFor(keysFile);
        assertThat(mount.path("readOnly").asBoolean()).isTrue();
        JsonNode secretVolume = deployment.volume(mount.path("name").asString()).path("secret");
        JsonNode secret = rendered.one("Secret");
        assertThat(secretVolume.path("secretName")).isEqualTo(secret.path("metadata").path("name"));
        assertThat(Path.of(mount.path("mountPath").asString()).resolve(secretVolume.path("items").path(0).path("path").asString()))
                .isEqualTo(Path.of(keysFile));
        assertThat(secret.path("stringData").path("keys").asString().lines()).containsExactly("alice:" + hash + ":60:100000");
    }

    @Test
    void optionalObjectsRenderWhenAsked() {
        Manifests hpa = ChartRenderer.template(null, Map.of("autoscaling.enabled", true, "metrics.serviceMonitor.enabled", true));
        JsonNode metric = hpa.one("HorizontalPodAutoscaler").path("spec").path("metrics").path(0).path("pods");
        assertThat(metric.path("metric").path("name").asString()).isEqualTo("vllm:num_requests_waiting");
        assertThat(hpa.one("Deployment").path("spec").has("replicas")).as("replicas left to the HPA").isFalse();
        JsonNode endpoint = hpa.one("ServiceMonitor").path("spec").path("endpoints").path(0);
        assertThat(endpoint.path("path").asString()).isEqualTo("/actuator/prometheus");
        assertThat(endpoint.path("port").asString()).isEqualTo("http");

        Manifests keda = ChartRenderer.template(null, Map.of("autoscaling.enabled", true, "autoscaling.kind", "keda"));
        assertThat(keda.find("HorizontalPodAutoscaler")).isEmpty();
        assertThat(keda.one("ScaledObject").path("spec").path("triggers").path(0).path("metadata").path("query").asString())
                .startsWith("sum(vllm:num_requests_waiting{");
    }

    @Test
    void modelVolumeKinds() {
        JsonNode pvc = new DeploymentChecks(ChartRenderer.template(null, Map.of("model.volume.type", "pvc"))
                .one("Deployment")).volume("model");
        assertThat(pvc.path("persistentVolumeClaim").path("claimName").asString()).isEqualTo("llm-llama-serve-model");
        Manifests hostPath = ChartRenderer.template(null, Map.of("model.volume.type", "hostPath",
                "model.volume.hostPath.path", "/data/llama"));
        DeploymentChecks deployment = new DeploymentChecks(hostPath.one("Deployment"));
        assertThat(deployment.volume("model").path("hostPath").path("path").asString()).isEqualTo("/data/llama");
        deployment.writableMountsForEveryPathTheAppWrites();
        assertThat(hostPath.find("PersistentVolumeClaim")).isEmpty();

        Manifests fetch = ChartRenderer.template(null, Map.of("model.volume.type", "pvc", "model.fetch.enabled", true,
                "model.fetch.tokenSecret.name", "hf-token"));
        DeploymentChecks fetching = new DeploymentChecks(fetch.one("Deployment"));
        JsonNode init = fetching.podSpec().path("initContainers").path(0);
        assertThat(init.path("securityContext").path("readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(init.path("env").toString()).contains("hf-token");
        assertThat(fetching.env()).containsEntry("LLM_MODEL_PATH", "/models/Llama-3.1-8B-Instruct");
        fetching.writableMountsForEveryPathTheAppWrites();
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("model.fetch.enabled", true)))
                .hasMessageContaining("needs a model volume");
    }

    @Test
    void testHookCallsReadyzAndStreamsACompletion() throws IOException {
        JsonNode pod = ChartRenderer.testHooks(scratch).one("Pod");
        JsonNode service = ChartRenderer.template().one("Service");
        JsonNode container = pod.path("spec").path("containers").path(0);
        String script = container.path("args").path(0).asString();
        String base = container.path("env").path(0).path("value").asString();
        assertThat(base).isEqualTo("http://" + service.path("metadata").path("name").asString() + ":"
                + service.path("spec").path("ports").path(0).path("port").asInt());
        assertThat(script).contains("\"$BASE" + ProbePaths.READYZ + "\"")
                .contains("$BASE/v1/chat/completions").contains("\\\"stream\\\":true").contains("data: \\[DONE\\]");
        assertThat(container.path("securityContext").path("readOnlyRootFilesystem").asBoolean()).isTrue();
    }
}
