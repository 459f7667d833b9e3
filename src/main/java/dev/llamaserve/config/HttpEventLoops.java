package dev.llamaserve.config;

import java.time.Duration;
import org.springframework.http.client.ReactorResourceFactory;
import reactor.netty.resources.LoopResources;

/**
 * The HTTP server's Netty event loops ({@code llm.api.io-threads}), threads named {@code llm-http-*}: the loops of
 * the application's {@link ReactorResourceFactory}, which the web server runs on (and WebClient connectors would).
 * Reactor Netty's default is one loop per core and at least four: four threads, each woken by the token frames of
 * its connections, on a machine whose every core runs libtorch's threads through every step; on two cores a thread
 * preempted for that work holds up the other at the step's barrier. {@code auto} gives one loop per four cores (at
 * least one): a loop serializes and writes thousands of SSE frames a second, and a server decodes a few hundred
 * tokens a second. Bench, 1B shape, AMD EPYC Zen 5, 2 cores, 16 streams through HTTP/SSE ({@code --only
 * kernels,http}), seven runs each, alternated, one loop against four: the service's Java CPU outside the steps
 * 2.2–3.0 % of the machine (median 2.3) against 2.8–3.1 % (3.0); wall time per step over its forward pass
 * 1.018–1.029 (median 1.022) against 1.028–1.041 (1.037); HTTP/SSE over engine-only in turns (medians of six
 * rounds) 0.90–0.98 (median 0.946) against 0.91–0.98 (0.93), within this VM's noise.
 */
final class HttpEventLoops {

    static final String PREFIX = "llm-http";

    private HttpEventLoops() {}

    /** {@code llm.api.io-threads}: {@code auto} (one per four of {@code cpus}, at least one) or a positive count. */
    static int threads(String setting, int cpus) {
        if (setting == null || setting.isBlank() || setting.strip().equalsIgnoreCase("auto")) {
            return Math.max(1, cpus / 4);
        }
        int n;
        try {
            n = Integer.parseInt(setting.strip());
        } catch (NumberFormatException e) {
            n = 0;
        }
        if (n < 1) {
            throw new IllegalArgumentException("llm.api.io-threads must be auto or a count of at least 1, got '"
                    + setting + "'");
        }
        return n;
    }

    /**
     * The application's resources with {@code threads} loops of their own (not Reactor Netty's global ones);
     * {@code quietPeriod} ({@code spring.reactor.netty.shutdown-quiet-period}, as Spring Boot's own factory takes
     * it) where given. The factory makes the loops when it starts and ends them when it is destroyed.
     */
    static ReactorResourceFactory resourceFactory(int threads, Duration quietPeriod) {
        ReactorResourceFactory factory = new ReactorResourceFactory();
        factory.setUseGlobalResources(false);
        factory.setLoopResourcesSupplier(() -> LoopResources.create(PREFIX, threads, true));
        if (quietPeriod != null) {
            factory.setShutdownQuietPeriod(quietPeriod);
        }
        return factory;
    }
}
