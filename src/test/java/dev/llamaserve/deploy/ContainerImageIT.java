package dev.llamaserve.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.llamaserve.ops.health.ProbePaths;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.ImageFromDockerfile;

/**
 * Builds the image from the Dockerfile, runs it with a read-only root filesystem and only the writable tmpfs
 * mounts the chart gives it, waits for readiness and streams a chat completion from the demo checkpoint.
 * Needs a Docker daemon (and its registry access for the base images); skipped where there is none.
 */
class ContainerImageIT {

    @Test
    void imageStreamsAChatCompletionWithAReadOnlyRootFilesystem() throws Exception {
        assumeTrue(DockerClientFactory.instance().isDockerAvailable(),
                "no Docker daemon on this machine: the image is neither built nor run (DockerfileTest reads it)");
        int port = ApplicationFacts.serverPort();
        ImageFromDockerfile image = new ImageFromDockerfile("llama-serve-test", true)
                .withFileFromPath("Dockerfile", Path.of("Dockerfile"))
                .withFileFromPath("mvnw", Path.of("mvnw"))
                .withFileFromPath(".mvn", Path.of(".mvn"))
                .withFileFromPath("pom.xml", Path.of("pom.xml"))
                .withFileFromPath("src/main", Path.of("src", "main"));
        Map<String, String> env = new DeploymentChecks(ChartRenderer.template().one("Deployment")).env();
        Map<String, String> tmpfs = new java.util.LinkedHashMap<>();
        for (String dir : List.of(ApplicationFacts.tmpDirs(env).get(0), ApplicationFacts.djlCacheDirs(env).get(0),
                ApplicationFacts.llmCacheDir(env).toString())) {
            tmpfs.put(dir, "rw,exec,mode=1777");
        }
        try (GenericContainer<?> container = new GenericContainer<>(image)
                .withExposedPorts(port)
                .withTmpFs(tmpfs)
                .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig().withReadonlyRootfs(true))
                .waitingFor(Wait.forHttp(ProbePaths.READYZ).forPort(port).forStatusCode(200)
                        .withStartupTimeout(Duration.ofMinutes(5)))) {
            container.start();
            String base = "http://" + container.getHost() + ":" + container.getMappedPort(port);
            HttpClient http = HttpClient.newHttpClient();
            String models = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/models")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(models).contains("llama-3.1-demo-random");
            HttpRequest chat = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("""
                            {"model": "llama-3.1-demo-random", "stream": true, "max_tokens": 8,
                             "messages": [{"role": "user", "content": "Hello"}]}"""))
                    .build();
            List<String> lines = http.send(chat, HttpResponse.BodyHandlers.ofLines()).body()
                    .filter(l -> l.startsWith("data: ")).toList();
            assertThat(lines).anySatisfy(l -> assertThat(l).contains("\"chat.completion.chunk\""));
            assertThat(lines.get(lines.size() - 1)).isEqualTo("data: [DONE]");
        }
    }
}
