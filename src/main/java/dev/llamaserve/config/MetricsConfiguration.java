package dev.llamaserve.config;

import dev.llamaserve.api.openai.ApiSettings;
import dev.llamaserve.api.openai.ServedModel;
import dev.llamaserve.engine.InferenceEngine;
import dev.llamaserve.ops.access.AccessLogFilter;
import dev.llamaserve.ops.metrics.KeyTokenMetrics;
import dev.llamaserve.ops.metrics.MeteredInferenceEngine;
import dev.llamaserve.ops.metrics.RefusalMetrics;
import dev.llamaserve.ops.metrics.RequestTrace;
import dev.llamaserve.ops.metrics.ServingMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.function.Function;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanFactoryAware;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.PropertySource;
import org.springframework.web.util.pattern.PathPatternParser;

/**
 * Metrics and the access log: the serving metrics (llama-serve's names and vLLM's), refusal and per-key
 * counters, the metering decorator around the engine, and the access-log filter. Exposes
 * {@code /actuator/prometheus} by default ({@code metrics-defaults.properties}, overridable like any property).
 */
@Configuration(proxyBeanMethods = false)
@PropertySource("classpath:dev/llamaserve/config/metrics-defaults.properties")
public class MetricsConfiguration {

    @Bean
    RefusalMetrics refusalMetrics(MeterRegistry registry) {
        return new RefusalMetrics(registry);
    }

    @Bean
    KeyTokenMetrics keyTokenMetrics(MeterRegistry registry, MetricsProperties props) {
        return new KeyTokenMetrics(registry, props.keyIdLimit());
    }

    @Bean
    ServingMetrics servingMetrics(MeterRegistry registry, ObjectProvider<PrometheusRegistry> prometheus,
            ServedModel served) {
        return new ServingMetrics(registry, prometheus.getIfAvailable(), served.name());
    }

    /**
     * Wraps every engine bean declared as a plain {@link InferenceEngine} in a {@link MeteredInferenceEngine}, so
     * every caller is metered. Beans declared with a concrete type (test doubles injected by their class) are
     * left alone: wrapping them would break that injection.
     */
    @Bean
    static BeanPostProcessor meteredEngine(ObjectProvider<ServingMetrics> metrics,
            ObjectProvider<RefusalMetrics> refusals) {
        return new MeteringPostProcessor(metrics, refusals);
    }

    @Bean
    AccessLogFilter accessLogFilter(ApiSettings settings, InferenceEngine engine, RefusalMetrics refusals,
            KeyTokenMetrics keyTokens, MetricsProperties props) {
        PathPatternParser parser = PathPatternParser.defaultInstance;
        Function<String, RequestTrace.Summary> traces = id -> null;
        if (engine instanceof MeteredInferenceEngine metered) {
            traces = metered::trace;
        }
        return new AccessLogFilter(settings, traces, refusals, keyTokens, props.accessLogExclude().stream().map(parser::parse).toList());
    }

    static final class MeteringPostProcessor implements BeanPostProcessor, BeanFactoryAware {

        private final ObjectProvider<ServingMetrics> metrics;
        private final ObjectProvider<RefusalMetrics> refusals;
        private ConfigurableListableBeanFactory beanFactory;

        MeteringPostProcessor(ObjectProvider<ServingMetrics> metrics, ObjectProvider<RefusalMetrics> refusals) {
            this.metrics = metrics;
            this.refusals = refusals;
        }

        @Override
        public void setBeanFactory(BeanFactory beanFactory) {
            this.beanFactory = (ConfigurableListableBeanFactory) beanFactory;
        }

        @Override
        public Object postProcessAfterInitialization(Object bean, String name) {
            if (bean instanceof InferenceEngine engine && !(bean instanceof MeteredInferenceEngine)
                    && declaredAsInterface(name)) {
                return new MeteredInferenceEngine(engine, metrics.getObject(), refusals.getObject());
            }
            return bean;
        }

        private boolean declaredAsInterface(String name) {
            return beanFactory.containsBeanDefinition(name)
                    && beanFactory.getMergedBeanDefinition(name).getResolvableType().resolve() == InferenceEngine.class;
        }
    }
}
