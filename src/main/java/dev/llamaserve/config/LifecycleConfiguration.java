package dev.llamaserve.config;

import dev.llamaserve.ops.health.LivenessIndicator;
import dev.llamaserve.ops.health.ReadinessIndicator;
import dev.llamaserve.ops.lifecycle.LifecycleGate;
import dev.llamaserve.ops.lifecycle.ModelLifecycle;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The service's lifecycle around the model: background load and warm-up, the gate that refuses the model's
 * routes until then and while draining, the probes' health indicators ({@code engineReadiness},
 * {@code engineLiveness}, members of the readiness and liveness groups that {@link ProbeDefaults} sets), and
 * the process exit after a failed load.
 */
@Configuration(proxyBeanMethods = false)
public class LifecycleConfiguration {

    @Bean
    ModelLoading modelLoading(LlmProperties props, OpsProperties ops, ObjectProvider<ModelLoadHooks> hooks) {
        return new ModelLoading(props, ops, hooks.getIfAvailable(() -> new ModelLoadHooks() {}));
    }

    @Bean
    ModelLoadFailureExit modelLoadFailureExit() {
        return new ModelLoadFailureExit(System::exit);
    }

    @Bean
    ModelLifecycle modelLifecycle(ModelLoading loading, ModelLoadFailureExit failureExit, OpsProperties ops) {
        return new ModelLifecycle(loading, failureExit, ops.drainTimeout());
    }

    @Bean
    LifecycleGate lifecycleGate(ModelLifecycle lifecycle) {
        return new LifecycleGate(lifecycle);
    }

    @Bean("engineReadiness")
    ReadinessIndicator engineReadiness(ModelLifecycle lifecycle) {
        return new ReadinessIndicator(lifecycle);
    }

    @Bean("engineLiveness")
    LivenessIndicator engineLiveness(ModelLifecycle lifecycle, OpsProperties ops) {
        return new LivenessIndicator(lifecycle, ops.stallTimeout());
    }
}
