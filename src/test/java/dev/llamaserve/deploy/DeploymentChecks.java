package dev.llamaserve.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.ops.health.ProbePaths;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import tools.jackson.databind.JsonNode;

/**
 * The checks every rendering of the llama-serve Deployment must pass (the chart with default and GPU values,
 * the kustomize overlays), stated against the application's real configuration ({@link ApplicationFacts}).
 */
record DeploymentChecks(JsonNode deployment) {

    static final String CONTAINER = "llama-serve";
    static final String GPU_RESOURCE = "nvidia.com/gpu";

    JsonNode podSpec() {
        return deployment.path("spec").path("template").path("spec");
    }

    JsonNode container() {
        return StreamSupport.stream(podSpec().path("containers").spliterator(), false)
                .filter(c -> CONTAINER.equals(c.path("name").asString("")))
                .findFirst().orElseThrow(() -> new AssertionError("no container " + CONTAINER));
    }

    /** The container's environment: name → value (valueFrom entries map to null values, so are left out). */
    Map<String, String> env() {
        Map<String, String> env = new LinkedHashMap<>();
        for (JsonNode e : container().path("env")) {
            if (e.has("value")) {
                env.put(e.path("name").asString(), e.path("value").asString());
            }
        }
        return env;
    }

    int containerPort(JsonNode port) {
        return port.isInt() ? port.intValue() : portNamed(port.asString());
    }

    int portNamed(String name) {
        for (JsonNode p : container().path("ports")) {
            if (p.path("name").asString("").equals(name)) {
                return p.path("containerPort").intValue();
            }
        }
        throw new AssertionError("no container port named " + name);
    }

    void probesMatchTheApplication() {
        int port = ApplicationFacts.serverPort();
        JsonNode c = container();
        // the startup probe bounds the load: /livez is UP while loading, /readyz only once loaded and warmed up
        assertThat(c.path("startupProbe").path("httpGet").path("path").asString()).isEqualTo(ProbePaths.READYZ);
        assertThat(c.path("livenessProbe").path("httpGet").path("path").asString()).isEqualTo(ProbePaths.LIVEZ);
        assertThat(c.path("readinessProbe").path("httpGet").path("path").asString()).isEqualTo(ProbePaths.READYZ);
        for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
            assertThat(containerPort(c.path(probe).path("httpGet").path("port"))).as(probe).isEqualTo(port);
        }
        assertThat(portNamed("http")).isEqualTo(port);
        String serverPort = env().get("SERVER_PORT");
        if (serverPort != null) {
            assertThat(Integer.parseInt(serverPort)).as("SERVER_PORT").isEqualTo(port);
        }
    }

    /** The startup probe tolerates a load of at least this long before the kubelet restarts the container. */
    void startupToleratesLoadOf(Duration load) {
        JsonNode startup = container().path("startupProbe");
        long budget = (long) startup.path("periodSeconds").asInt(10) * startup.path("failureThreshold").asInt(3);
        assertThat(budget).as("startup probe budget in seconds").isGreaterThanOrEqualTo(load.toSeconds());
    }

    void hardenedSecurityContext() {
        JsonNode pod = podSpec().path("securityContext");
        JsonNode sc = container().path("securityContext");
        assertThat(pod.path("runAsNonRoot").asBoolean() || sc.path("runAsNonRoot").asBoolean()).as("runAsNonRoot").isTrue();
        assertThat(sc.path("runAsUser").asInt(pod.path("runAsUser").asInt(-1))).as("numeric non-root uid").isPositive();
        assertThat(sc.path("readOnlyRootFilesystem").asBoolean()).as("readOnlyRootFilesystem").isTrue();
        assertThat(sc.path("allowPrivilegeEscalation").isBoolean() && !sc.path("allowPrivilegeEscalation").asBoolean())
                .as("allowPrivilegeEscalation: false").isTrue();
        assertThat(sc.path("privileged").asBoolean(false)).as("privileged").isFalse();
        assertThat(StreamSupport.stream(sc.path("capabilities").path("drop").spliterator(), false).map(JsonNode::asString))
                .as("capabilities dropped").contains("ALL");
        assertThat(sc.path("capabilities").path("add").isEmpty()).as("no capability added").isTrue();
        String seccomp = sc.path("seccompProfile").path("type").asString(pod.path("seccompProfile").path("type").asString(""));
        assertThat(seccomp).isEqualTo("RuntimeDefault");
        assertThat(podSpec().path("hostNetwork").asBoolean(false) || podSpec().path("hostPID").asBoolean(false)).isFalse();
    }

    void gpuResources(boolean expected) {
        JsonNode resources = container().path("resources");
        if (expected) {
            assertThat(resources.path("limits").path(GPU_RESOURCE).asString()).isEqualTo("1");
            assertThat(resources.path("requests").path(GPU_RESOURCE).asString()).isEqualTo("1");
            assertThat(podSpec().path("tolerations").toString()).contains(GPU_RESOURCE);
            assertThat(podSpec().path("nodeSelector").toString()).contains("nvidia.com/");
        } else {
            assertThat(resources.toString()).doesNotContain(GPU_RESOURCE);
            assertThat(podSpec().path("tolerations").toString()).doesNotContain("nvidia");
            assertThat(podSpec().path("nodeSelector").toString()).doesNotContain("nvidia");
        }
    }

    void gracePeriodCoversPreStopDrainAndShutdown() {
        JsonNode command = container().path("lifecycle").path("preStop").path("exec").path("command");
        assertThat(command.path(0).asString()).as("preStop command").isEqualTo("sleep");
        long preStop = Long.parseLong(command.path(1).asString());
        assertThat(preStop).as("preStop sleep").isPositive();
        Duration drain = ApplicationFacts.drainTimeout(env());
        Duration pastDrain = ApplicationFacts.shutdownPastDrain(env());
        long grace = podSpec().path("terminationGracePeriodSeconds").asLong(30);
        assertThat(Duration.ofSeconds(grace))
                .as("terminationGracePeriodSeconds vs preStop %ds + drain %s + the shutdown past the drain %s (the"
                        + " step in progress, then spring.lifecycle.timeout-per-shutdown-phase)", preStop, drain, pastDrain)
                .isGreaterThan(Duration.ofSeconds(preStop).plus(drain).plus(pastDrain));
    }

    /** Every path the application writes lies on a writable volume; the checkpoint on a read-only one. */
    void writableMountsForEveryPathTheAppWrites() {
        Map<String, String> env = env();
        List<String> written = new java.util.ArrayList<>(ApplicationFacts.djlCacheDirs(env));
        written.addAll(ApplicationFacts.tmpDirs(env));
        written.add(ApplicationFacts.llmCacheDir(env).toString());
        for (String path : written) {
            JsonNode mount = mountFor(path);
            assertThat(mount).as("a volume mounted at or above " + path).isNotNull();
            assertThat(mount.path("readOnly").asBoolean(false)).as(path + " writable").isFalse();
            assertThat(volume(mount.path("name").asString()).has("emptyDir")).as(path + " on an emptyDir").isTrue();
        }
        JsonNode shm = mountFor("/dev/shm");
        assertThat(shm).as("/dev/shm mount").isNotNull();
        assertThat(volume(shm.path("name").asString()).path("emptyDir").path("medium").asString()).isEqualTo("Memory");
        Path model = ApplicationFacts.modelPath(env);
        if (model != null) {
            JsonNode modelMount = mountFor(model.toString());
            assertThat(modelMount).as("a volume holding " + model).isNotNull();
            assertThat(modelMount.path("readOnly").asBoolean(false)).as("weights mounted read-only").isTrue();
        }
    }

    /** The deepest volumeMount containing {@code path}, or null. */
    JsonNode mountFor(String path) {
        JsonNode best = null;
        for (JsonNode m : container().path("volumeMounts")) {
            String at = m.path("mountPath").asString();
            boolean covers = path.equals(at) || path.startsWith(at.endsWith("/") ? at : at + "/");
            if (covers && (best == null || at.length() > best.path("mountPath").asString().length())) {
                best = m;
            }
        }
        return best;
    }

    JsonNode volume(String name) {
        for (JsonNode v : podSpec().path("volumes")) {
            if (name.equals(v.path("name").asString())) {
                return v;
            }
        }
        throw new AssertionError("no volume " + name);
    }

    /**
     * The memory request is the limit: the weights and the KV pool are sized from the limit and stay resident, so
     * a pod that requested less is scheduled onto memory it does not get, and is the first evicted under pressure.
     */
    void memoryRequestIsTheLimit() {
        JsonNode resources = container().path("resources");
        String limit = resources.path("limits").path("memory").asString("");
        assertThat(limit).as("a memory limit").isNotEmpty();
        assertThat(resources.path("requests").path("memory").asString("")).as("memory request").isEqualTo(limit);
    }

    /** All checks that hold for every rendering. */
    void all(boolean gpu, Duration load) {
        probesMatchTheApplication();
        startupToleratesLoadOf(load);
        hardenedSecurityContext();
        gpuResources(gpu);
        memoryRequestIsTheLimit();
        gracePeriodCoversPreStopDrainAndShutdown();
        writableMountsForEveryPathTheAppWrites();
    }
}
