package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** {@link CpuThreads#resolve}: {@code auto} follows the JVM's processors (a container's CPU limit), capped at libtorch's default. */
class CpuThreadsTest {

    @Test
    void autoIsTheJvmsProcessorsAtMostLibtorchsDefault() {
        assertThat(CpuThreads.resolve("auto", 4, 32)).as("a pod limited to 4 CPUs on a 32-core node").isEqualTo(4);
        assertThat(CpuThreads.resolve("auto", 64, 32)).as("no limit, SMT: libtorch's count of cores").isEqualTo(32);
        assertThat(CpuThreads.resolve(" AUTO ", 2, 2)).isEqualTo(2);
        assertThat(CpuThreads.resolve("", 3, 8)).isEqualTo(3);
        assertThat(CpuThreads.resolve(null, 3, 8)).isEqualTo(3);
        assertThat(CpuThreads.resolve("auto", 6, 0)).as("libtorch's count unknown").isEqualTo(6);
    }

    @Test
    void aNumberIsTakenAsIs() {
        assertThat(CpuThreads.resolve("12", 4, 32)).isEqualTo(12);
        assertThat(CpuThreads.resolve("1", 4, 32)).isEqualTo(1);
    }

    @Test
    void anythingElseIsRefusedNamingThePropertyAndTheValue() {
        for (String bad : new String[] {"0", "-2", "all", "2.5"}) {
            assertThatThrownBy(() -> CpuThreads.resolve(bad, 4, 4)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("llm.model.cpu-threads").hasMessageContaining("'" + bad + "'")
                    .hasMessageContaining("auto");
        }
    }
}
