package dev.llamaserve.ops.limits;

import static org.junit.jupiter.api.Assertions.fail;

import java.net.URI;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;

/**
 * A real Redis for tests: a Testcontainers Redis where a Docker daemon answers, else the server named by
 * {@code LLM_TEST_REDIS_URL} ({@code .ci/run} starts Debian's redis-server and exports it). With neither, a
 * test skips visibly, or fails when {@code LLM_REQUIRE_REDIS=1}.
 */
final class TestRedis {

    private static GenericContainer<?> container;
    private static String url;

    private TestRedis() {}

    /** The Redis URL, e.g. {@code redis://127.0.0.1:6390}. */
    static synchronized String url() {
        if (url != null) {
            return url;
        }
        String external = System.getenv("LLM_TEST_REDIS_URL");
        if (external != null && !external.isBlank()) {
            url = external.strip();
        } else if (dockerAvailable()) {
            container = new GenericContainer<>("redis:7-alpine").withExposedPorts(6379);
            container.start();
            url = "redis://" + container.getHost() + ":" + container.getMappedPort(6379);
        } else {
            String reason = "no Redis: no Docker daemon for Testcontainers and LLM_TEST_REDIS_URL is not set";
            if ("1".equals(System.getenv("LLM_REQUIRE_REDIS"))) {
                fail(reason + " (LLM_REQUIRE_REDIS=1)");
            }
            Assumptions.abort(reason);
        }
        return url;
    }

    static String host() {
        return URI.create(url()).getHost();
    }

    static int port() {
        return URI.create(url()).getPort();
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | Error e) { // a broken Docker client setup is no Docker
            return false;
        }
    }
}
