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
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Assumptions;
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
                "a shutdown phase longer than the margin", Map.of("extraEnv[0].name",
                        "SPRING_LIFECYCLE_TIMEOUTPERSHUTDOWNPHASE", "extraEnv[0].value", "30s"),
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
        assertThat(deployment.env()).containsEntry("SERVER_FORWARD_HEADERS_STRATEGY", "none");
        assertThat(rendered.one("Service").path("spec").has("externalTrafficPolicy")).isFalse();
        // per-client limits behind a proxy or a LoadBalancer: the client's address, where the chart says so
        Manifests behind = ChartRenderer.template(null, Map.of("server.forwardHeadersStrategy", "native",
                "service.type", "LoadBalancer", "service.externalTrafficPolicy", "Local"));
        assertThat(new DeploymentChecks(behind.one("Deployment")).env())
                .containsEntry("SERVER_FORWARD_HEADERS_STRATEGY", "native");
        assertThat(behind.one("Service").path("spec").path("externalTrafficPolicy").asString()).isEqualTo("Local");
    }

    @Test
    void drainTimeoutAndPreStopDriveTheGracePeriod() {
        DeploymentChecks deployment = new DeploymentChecks(ChartRenderer.template(null, Map.of(
                "ops.drainTimeoutSeconds", 120, "lifecycle.preStopSleepSeconds", 20)).one("Deployment"));
        assertThat(ApplicationFacts.drainTimeout(deployment.env())).isEqualTo(Duration.ofSeconds(120));
        deployment.gracePeriodCoversPreStopDrainAndShutdown();
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
        // the application refuses 0 waiting requests at startup: the chart refuses it before a crash loop
        // what the application refuses at start, the schema and the chart refuse at render (a crash loop otherwise)
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("engine.maxModelLen", 1)))
                .hasMessageContaining("maxModelLen");
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("rateLimit.requestsPerMinute", 3_000_000_000L)))
                .hasMessageContaining("requestsPerMinute");
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("engine.kvCacheMemory", "8 gigs")))
                .hasMessageContaining("kvCacheMemory");
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("apiKeys.entries[0]", "team/a:" + "a".repeat(64))))
                .hasMessageContaining("entries");
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("engine.maxNumSeqs", 4096)))
                .hasMessageContaining("engine.maxNumSeqs (4096) must be at most engine.maxNumBatchedTokens (2048");
        ChartRenderer.template(null, Map.of("engine.maxNumSeqs", 4096, "engine.maxNumBatchedTokens", 8192,
                "engine.kvCacheMemory", "8GiB", "rateLimit.redis.url", "redis-sentinel://s:26379/0#mymaster",
                "apiKeys.entries[0]", "team-a:" + "A".repeat(64) + ":60:100000"));
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("server.forwardHeadersStrategy", "trust-all")))
                .hasMessageContaining("forwardHeadersStrategy");
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("engine.maxWaiting", 0)))
                .hasMessageContaining("/engine/maxWaiting");
        // the README's keys-file line with an empty requests-per-minute field (the global one) is accepted, with
        // or without its bound on requests in flight; a sixth field is not
        ChartRenderer.template(null, Map.of("apiKeys.entries[0]", "batch:" + "f".repeat(64) + "::2000000"));
        ChartRenderer.template(null, Map.of("apiKeys.entries[0]", "batch:" + "f".repeat(64) + "::2000000:4"));
        assertThatThrownBy(() -> ChartRenderer.template(null,
                Map.of("apiKeys.entries[0]", "batch:" + "f".repeat(64) + ":1:2:3:4")))
                .hasMessageContaining("apiKeys");
    }

    @Test
    void apiKeysRedisAndLimitsReachTheApplication() {
        String hash = "a".repeat(64);
        Manifests rendered = ChartRenderer.template(null, Map.of(
                "apiKeys.entries[0]", "alice:" + hash + ":60:100000",
                "rateLimit.redis.url", "redis://redis.serving.svc:6379",
                "rateLimit.requestsPerMinute", 600,
                "ops.maxConcurrentRequests", 64,
                "ops.maxConcurrentRequestsPerClient", 8));
        DeploymentChecks deployment = new DeploymentChecks(rendered.one("Deployment"));
        Map<String, String> env = deployment.env();
        var binder = ApplicationFacts.binder(env);
        assertThat(binder.bind("llm.ratelimit.redis-url", String.class).get()).isEqualTo("redis://redis.serving.svc:6379");
        assertThat(binder.bind("llm.ratelimit.requests-per-minute", Integer.class).get()).isEqualTo(600);
        assertThat(binder.bind("llm.ops.max-concurrent-requests", Integer.class).get()).isEqualTo(64);
        assertThat(binder.bind("llm.ops.max-concurrent-requests-per-client", Integer.class).get()).isEqualTo(8);
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

        Manifests keda = ChartRenderer.template(null, Map.of("autoscaling.enabled", true, "autoscaling.kind", "keda",
                "metrics.serviceMonitor.enabled", true));
        assertThat(keda.find("HorizontalPodAutoscaler")).isEmpty();
        assertThat(keda.one("ScaledObject").path("spec").path("triggers").path(0).path("metadata").path("query").asString())
                .isEqualTo("sum(vllm:num_requests_waiting{namespace=\"serving\",service=\"llm-llama-serve\"})");
    }

    /** The notes warn that each replica limits on its own wherever more than one may run without Redis. */
    @Test
    void notesWarnOfPerReplicaLimitsWhereSeveralReplicasMayRun() {
        String perReplica = "without rateLimit.redis: each replica enforces the limits on its own.";
        Map<String, Object> limited = Map.of("rateLimit.requestsPerMinute", 60);
        String one = ChartRenderer.installOutput(limited);
        assertThat(one).as("the notes are rendered").contains("helm test llm -n serving");
        assertThat(one).doesNotContain(perReplica);
        assertThat(ChartRenderer.installOutput(with(limited, "replicaCount", 3))).contains("3 replicas " + perReplica);
        assertThat(ChartRenderer.installOutput(with(limited, "autoscaling.enabled", true, "autoscaling.maxReplicas", 4)))
                .contains("up to 4 replicas (autoscaling) " + perReplica);
        assertThat(ChartRenderer.installOutput(with(limited, "autoscaling.enabled", true, "autoscaling.minReplicas", 1,
                "autoscaling.maxReplicas", 1, "replicaCount", 3))).as("the HPA keeps one replica").doesNotContain(perReplica);
        assertThat(ChartRenderer.installOutput(with(limited, "autoscaling.enabled", true,
                "rateLimit.redis.url", "redis://redis:6379"))).as("limits shared through Redis").doesNotContain(perReplica);
        assertThat(ChartRenderer.installOutput(Map.of("autoscaling.enabled", true))).as("no limits").doesNotContain(perReplica);
    }

    private static Map<String, Object> with(Map<String, Object> base, Object... keysAndValues) {
        Map<String, Object> sets = new java.util.LinkedHashMap<>(base);
        for (int i = 0; i < keysAndValues.length; i += 2) {
            sets.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return sets;
    }

    /** The default KEDA query selects by the label the chart's ServiceMonitor's scrape gives: without it, nothing. */
    @Test
    void kedaNeedsTheServiceMonitorOrAQueryOfItsOwn() {
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("autoscaling.enabled", true, "autoscaling.kind", "keda")))
                .hasMessageContaining("metrics.serviceMonitor.enabled=true").hasMessageContaining("autoscaling.keda.query");
        String own = "sum(vllm:num_requests_waiting{namespace=\"serving\",pod=~\"llm-.*\"})";
        Manifests keda = ChartRenderer.template(null, Map.of("autoscaling.enabled", true, "autoscaling.kind", "keda",
                "autoscaling.keda.query", own));
        assertThat(keda.one("ScaledObject").path("spec").path("triggers").path(0).path("metadata").path("query").asString())
                .isEqualTo(own);
    }

    /**
     * A values file's numbers reach helm as float64, which toString printed as "1e+06": a quota of a million tokens
     * a minute then failed to bind and the pod never started. Every number the chart passes as text binds.
     */
    @Test
    void largeNumbersFromAValuesFileBindAsIntegers() throws IOException {
        Path values = scratch.resolve("big-numbers.yaml");
        Files.writeString(values, """
                rateLimit:
                  requestsPerMinute: 1200000
                  tokensPerMinute: 1000000
                ops:
                  maxConcurrentRequests: 3000000
                engine:
                  maxNumBatchedTokens: 2000000
                  maxModelLen: 131072
                autoscaling:
                  enabled: true
                  targetWaitingRequests: 1000000
                metrics:
                  serviceMonitor:
                    enabled: true
                """);
        Manifests rendered = ChartRenderer.template(values, Map.of());
        Map<String, String> env = new DeploymentChecks(rendered.one("Deployment")).env();
        assertThat(env).containsEntry("LLM_RATELIMIT_TOKENS_PER_MINUTE", "1000000")
                .containsEntry("LLM_RATELIMIT_REQUESTS_PER_MINUTE", "1200000")
                .containsEntry("LLM_OPS_MAX_CONCURRENT_REQUESTS", "3000000")
                .containsEntry("LLM_ENGINE_MAX_NUM_BATCHED_TOKENS", "2000000")
                .containsEntry("LLM_ENGINE_MAX_MODEL_LEN", "131072");
        var binder = ApplicationFacts.binder(env);
        assertThat(binder.bind("llm.ratelimit.tokens-per-minute", Long.class).get()).isEqualTo(1_000_000L);
        assertThat(binder.bind("llm.ops.max-concurrent-requests", Integer.class).get()).isEqualTo(3_000_000);
        assertThat(rendered.one("HorizontalPodAutoscaler").path("spec").path("metrics").path(0).path("pods")
                .path("target").path("averageValue").asString()).isEqualTo("1000000");
    }

    /** The chart's own ReadWriteOnce claim attaches to one node: no surge pod elsewhere, no second replica. */
    @Test
    void aReadWriteOnceClaimRollsOutWithRecreateAndOneReplica() {
        JsonNode strategy = ChartRenderer.template(null, Map.of("model.volume.type", "pvc")).one("Deployment")
                .path("spec").path("strategy");
        assertThat(strategy.path("type").asString()).isEqualTo("Recreate");
        assertThat(strategy.has("rollingUpdate")).isFalse();
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("model.volume.type", "pvc", "replicaCount", 2)))
                .hasMessageContaining("ReadWriteOnce").hasMessageContaining("ReadWriteMany");
        assertThatThrownBy(() -> ChartRenderer.template(null, Map.of("model.volume.type", "pvc",
                "autoscaling.enabled", true, "metrics.serviceMonitor.enabled", true)))
                .hasMessageContaining("ReadWriteOnce");

        Manifests shared = ChartRenderer.template(null, Map.of("model.volume.type", "pvc",
                "model.volume.pvc.accessModes[0]", "ReadWriteMany", "replicaCount", 2));
        assertThat(shared.one("Deployment").path("spec").path("strategy").path("type").asString()).isEqualTo("RollingUpdate");
        assertThat(shared.one("PersistentVolumeClaim").path("spec").path("accessModes").path(0).asString())
                .isEqualTo("ReadWriteMany");
        assertThat(ChartRenderer.template(null, Map.of("model.volume.type", "existingClaim",
                "model.volume.existingClaim", "weights", "replicaCount", 2)).one("Deployment")
                .path("spec").path("strategy").path("type").asString()).as("a claim the chart did not make").isEqualTo("RollingUpdate");
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

    /**
     * The weights' init container, run by /bin/sh with stand-ins for pip and python: config.json alone (a download
     * cut short: the small files land first) does not count as fetched, a finished download is not repeated, a new
     * revision is fetched, and a failed download leaves no mark.
     */
    @Test
    void theFetchInitContainerResumesADownloadCutShort() throws Exception {
        Path sh = Path.of("/bin/sh");
        Assumptions.assumeTrue(Files.isExecutable(sh), "no /bin/sh on this machine to run the init script with");
        JsonNode init = ChartRenderer.template(null, Map.of("model.volume.type", "pvc", "model.fetch.enabled", true))
                .one("Deployment").path("spec").path("template").path("spec").path("initContainers").path(0);
        assertThat(init.path("command").path(0).asString()).isEqualTo("/bin/sh");
        String script = init.path("args").path(0).asString();
        Map<String, String> env = new java.util.HashMap<>();
        for (JsonNode e : init.path("env")) {
            env.put(e.path("name").asString(), e.path("value").asString());
        }
        Path target = scratch.resolve("models").resolve("Llama-3.1-8B-Instruct");
        Files.createDirectories(target);
        Path stubs = Files.createDirectories(scratch.resolve("bin"));
        Path calls = scratch.resolve("calls.log");
        // python stands in for snapshot_download: it logs the call and writes the shards, or fails where asked
        stub(stubs.resolve("pip"), "exit 0");
        stub(stubs.resolve("python"), "echo \"download $REVISION\" >> " + calls + "\n"
                + "[ -f " + scratch.resolve("fail") + " ] && exit 1\n"
                + "echo '{}' > \"$TARGET/config.json\"; echo w > \"$TARGET/model.safetensors\"");
        env.put("HOME", scratch.toString());
        env.put("TARGET", target.toString());
        env.put("PATH", stubs + ":/usr/bin:/bin");

        Files.writeString(target.resolve("config.json"), "{}");   // what an eviction mid-download leaves
        assertThat(runInit(sh, script, env)).isZero();
        assertThat(lines(calls)).containsExactly("download " + env.get("REVISION"));
        assertThat(runInit(sh, script, env)).as("the second start").isZero();
        assertThat(lines(calls)).as("a finished download is not repeated").hasSize(1);

        String first = env.get("REVISION");
        env.put("REVISION", "0123abcd");
        Files.writeString(scratch.resolve("fail"), "");
        assertThat(runInit(sh, script, env)).as("a failed download fails the init container").isNotZero();
        Files.delete(scratch.resolve("fail"));
        assertThat(runInit(sh, script, env)).isZero();
        assertThat(lines(calls)).as("the failed download left no mark: fetched again")
                .containsExactly("download " + first, "download 0123abcd", "download 0123abcd");
    }

    private static List<String> lines(Path file) throws IOException {
        return Files.exists(file) ? Files.readAllLines(file) : List.of();
    }

    private static void stub(Path file, String body) throws IOException {
        Files.writeString(file, "#!/bin/sh\n" + body + "\n");
        assertThat(file.toFile().setExecutable(true)).isTrue();
    }

    private static int runInit(Path sh, String script, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(sh.toString(), "-ec", script).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("init script finished").isTrue();
        return p.exitValue();
    }

    /**
     * The `helm test` pod is no server pod: were it in the Service's selector the Service would send requests to a
     * curl container, and in the PodDisruptionBudget's, a pod without a controller stops every eviction.
     */
    @Test
    void theTestPodIsOutsideEverySelectorOfTheRelease() throws IOException {
        JsonNode labels = ChartRenderer.testHooks(scratch).one("Pod").path("metadata").path("labels");
        Manifests rendered = ChartRenderer.template(null, Map.of("autoscaling.enabled", true,
                "metrics.serviceMonitor.enabled", true, "networkPolicy.ingressFrom[0].podSelector.matchLabels.role", "client"));
        List<JsonNode> selectors = List.of(rendered.one("Service").path("spec").path("selector"),
                rendered.one("PodDisruptionBudget").path("spec").path("selector").path("matchLabels"),
                rendered.one("Deployment").path("spec").path("selector").path("matchLabels"),
                rendered.one("NetworkPolicy").path("spec").path("podSelector").path("matchLabels"));
        for (JsonNode selector : selectors) {
            assertThat(selects(selector, labels)).as("%s selects the test pod %s", selector, labels).isFalse();
        }
        JsonNode serverLabels = rendered.one("Deployment").path("spec").path("template").path("metadata").path("labels");
        assertThat(selectors).allMatch(selector -> selects(selector, serverLabels));
        // the NetworkPolicy still lets the test pod in where ingressFrom restricts the port
        JsonNode from = rendered.one("NetworkPolicy").path("spec").path("ingress").path(0).path("from");
        assertThat(StreamSupport.stream(from.spliterator(), false)
                .anyMatch(peer -> selects(peer.path("podSelector").path("matchLabels"), labels))).isTrue();
    }

    private static boolean selects(JsonNode matchLabels, JsonNode labels) {
        if (matchLabels.isEmpty()) {
            return false;   // none here is meant to be empty; an empty one would select every pod
        }
        for (Map.Entry<String, JsonNode> e : matchLabels.properties()) {
            if (!e.getValue().asString().equals(labels.path(e.getKey()).asString(null))) {
                return false;
            }
        }
        return true;
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
