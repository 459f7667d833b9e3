package dev.llamaserve.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;

/** Dockerfile and Dockerfile.cuda, read as instructions (Docker cannot run here). */
class DockerfileTest {

    @ParameterizedTest
    @ValueSource(strings = {"Dockerfile", "Dockerfile.cuda"})
    void runsAsANumericNonRootUser(String file) throws IOException {
        List<String> users = Dockerfiles.read(Path.of(file)).finalStage().all("USER");
        assertThat(users).as("USER in the final stage").isNotEmpty();
        String user = users.get(users.size() - 1).split(":")[0];
        assertThat(user).as("numeric uid (runAsNonRoot can verify only numbers)").matches("\\d+");
        assertThat(Integer.parseInt(user)).isPositive();
        JsonNode pod = ChartRenderer.template().one("Deployment").path("spec").path("template").path("spec");
        assertThat(pod.path("securityContext").path("runAsUser").asInt()).as("the chart runs the image's user")
                .isEqualTo(Integer.parseInt(user));
    }

    @ParameterizedTest
    @ValueSource(strings = {"Dockerfile", "Dockerfile.cuda"})
    void exposesTheApplicationPort(String file) throws IOException {
        assertThat(Dockerfiles.read(Path.of(file)).finalStage().all("EXPOSE"))
                .containsExactly(String.valueOf(ApplicationFacts.serverPort()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"Dockerfile", "Dockerfile.cuda"})
    void everyBaseImageIsPinnedToAVersion(String file) throws IOException {
        Dockerfiles dockerfile = Dockerfiles.read(Path.of(file));
        Set<String> stageNames = dockerfile.stages().stream().map(Dockerfiles.Stage::name)
                .filter(n -> n != null).collect(Collectors.toSet());
        for (Dockerfiles.Stage stage : dockerfile.stages()) {
            String image = stage.image();
            if (stageNames.contains(image)) {
                continue;
            }
            assertThat(image).as("ARGs resolved").doesNotContain("$");
            String tag = image.contains("@") ? "digest" : image.substring(image.lastIndexOf(':') + 1);
            assertThat(image.lastIndexOf(':')).as(image + " has a tag").isGreaterThan(image.lastIndexOf('/'));
            assertThat(tag).as(image).isNotEqualTo("latest").matches(".*\\d.*");
        }
        assertThat(String.join("\n", dockerfile.instructions().stream().map(Object::toString).toList()))
                .doesNotContainIgnoringCase(":latest");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Dockerfile", "Dockerfile.cuda"})
    void downloadsNoWeights(String file) throws IOException {
        for (Dockerfiles.Instruction i : Dockerfiles.read(Path.of(file)).instructions()) {
            String text = i.arguments().toLowerCase();
            assertThat(text).as(i.toString()).doesNotContain("huggingface", "hf_hub", "snapshot_download",
                    ".safetensors", "hf.co", "git lfs", "modelscope");
            if (text.contains("curl") || text.contains("wget")) {
                // The CUDA image fetches libtorch, and nothing else, at build time.
                assertThat(i.keyword() + " " + text).contains("libtorch_url");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Dockerfile", "Dockerfile.cuda"})
    void layeredJarReadOnlyRootFsAndContainerAwareHeap(String file) throws IOException {
        Dockerfiles dockerfile = Dockerfiles.read(Path.of(file));
        assertThat(dockerfile.stages().get(0).all("RUN")).anySatisfy(run -> assertThat(run)
                .contains("./mvnw").contains("-Djarmode=tools").contains("extract --layers --launcher"));
        assertThat(dockerfile.stages().get(0).all("RUN").get(0)).as("dependency layer before the sources")
                .contains("dependency:go-offline");
        Dockerfiles.Stage last = dockerfile.finalStage();
        assertThat(last.all("COPY")).filteredOn(c -> c.startsWith("--from=build"))
                .extracting(c -> c.split("\\s+")[1]).containsExactly("/build/extracted/dependencies/",
                        "/build/extracted/spring-boot-loader/", "/build/extracted/snapshot-dependencies/",
                        "/build/extracted/application/");
        assertThat(last.all("ENTRYPOINT")).containsExactly(
                "[\"java\", \"org.springframework.boot.loader.launch.JarLauncher\"]");
        Map<String, String> env = Dockerfiles.env(last);
        assertThat(env.get("JAVA_TOOL_OPTIONS")).contains("-XX:MaxRAMPercentage=");
        // The image's writable paths are the ones the chart mounts writable volumes on.
        DeploymentChecks chart = new DeploymentChecks(ChartRenderer.template().one("Deployment"));
        assertThat(ApplicationFacts.tmpDirs(env)).isEqualTo(ApplicationFacts.tmpDirs(chart.env()));
        assertThat(ApplicationFacts.djlCacheDirs(env)).isEqualTo(ApplicationFacts.djlCacheDirs(chart.env()));
        assertThat(ApplicationFacts.llmCacheDir(env)).isEqualTo(ApplicationFacts.llmCacheDir(chart.env()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"Dockerfile.cuda"})
    void cudaImageUsesLibtorch271ForCuda128(String file) throws IOException {
        Dockerfiles dockerfile = Dockerfiles.read(Path.of(file));
        Map<String, String> env = Dockerfiles.env(dockerfile.finalStage());
        assertThat(env).containsEntry("PYTORCH_VERSION", "2.7.1").containsEntry("PYTORCH_FLAVOR", "cu128");
        assertThat(dockerfile.finalStage().image()).startsWith("nvidia/cuda:12.8.");
        assertThat(dockerfile.finalStage().all("COPY")).anySatisfy(c -> assertThat(c)
                .isEqualTo("--from=libtorch /opt/libtorch/lib " + env.get("PYTORCH_LIBRARY_PATH")));
        assertThat(dockerfile.instructions()).anySatisfy(i -> assertThat(i.arguments())
                .contains("libtorch-cxx11-abi-shared-with-deps-2.7.1%2Bcu128.zip"));
    }
}
