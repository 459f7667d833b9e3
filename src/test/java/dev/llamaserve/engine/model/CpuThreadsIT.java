package dev.llamaserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.pytorch.jni.JniUtils;
import org.junit.jupiter.api.Test;

/** {@link CpuThreads#apply} sets libtorch's intra-op threads, and {@code auto} is what the JVM sees. */
class CpuThreadsIT {

    @Test
    void applySetsLibtorchsThreadsAndAutoFollowsTheJvm() {
        int before = CpuThreads.apply("auto").threads();
        try {
            assertThat(before).isEqualTo(Math.min(Runtime.getRuntime().availableProcessors(), before))
                    .isEqualTo(JniUtils.getNumThreads());
            CpuThreads.Choice one = CpuThreads.apply("1");
            assertThat(one.threads()).isEqualTo(1);
            assertThat(JniUtils.getNumThreads()).isEqualTo(1);
            assertThat(one.toString()).contains("libtorch CPU threads 1").contains("llm.model.cpu-threads=1");
        } finally {
            JniUtils.setNumThreads(before);
        }
        assertThat(JniUtils.getNumThreads()).isEqualTo(before);
    }
}
