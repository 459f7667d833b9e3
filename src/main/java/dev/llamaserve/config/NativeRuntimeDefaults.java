package dev.llamaserve.config;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Process-wide settings DJL reads once, when its native libraries first load, so they must be in place
 * before anything touches DJL: {@link dev.llamaserve.LlamaServeApplication} applies them in its static
 * initializer, which runs before {@code main} under {@code java -jar}, {@code spring-boot:run} and the
 * container images alike.
 *
 * <ul>
 *   <li>{@code RUST_FLAVOR=cpu}: DJL's Hugging Face tokenizers switch to a CUDA build of their native library
 *       when they see a GPU; the jar ships only the CPU builds, so on a CUDA machine without internet the
 *       tokenizer would fail to load. Tokenizing is CPU work either way.</li>
 *   <li>{@code ai.djl.offline=true}: DJL never downloads anything (native libraries, models); this service
 *       brings its natives on the class path or through {@code PYTORCH_LIBRARY_PATH}.</li>
 * </ul>
 *
 * A setting already given as an environment variable ({@code RUST_FLAVOR}, {@code DJL_OFFLINE}) or a
 * system property wins: DJL reads the environment first, and an explicit {@code -D} is left alone.
 */
public final class NativeRuntimeDefaults {

    /** DJL's tokenizers read this (environment first, then system property) to pick their native build. */
    public static final String RUST_FLAVOR = "RUST_FLAVOR";
    /** DJL's offline switch as a system property; {@code DJL_OFFLINE} is its environment form. */
    public static final String DJL_OFFLINE_PROPERTY = "ai.djl.offline";

    private static final Map<String, String> ENV_FORM = Map.of(
            RUST_FLAVOR, RUST_FLAVOR,
            DJL_OFFLINE_PROPERTY, "DJL_OFFLINE");
    private static final Map<String, String> DEFAULTS = Map.of(
            RUST_FLAVOR, "cpu",
            DJL_OFFLINE_PROPERTY, "true");

    private NativeRuntimeDefaults() {}

    /** Sets each default as a system property unless the environment or a system property already has it. */
    public static Map<String, String> apply() {
        return apply(System::getenv);
    }

    static Map<String, String> apply(UnaryOperator<String> environment) {
        Map<String, String> applied = new LinkedHashMap<>();
        DEFAULTS.forEach((property, value) -> {
            boolean givenByEnvironment = environment.apply(ENV_FORM.get(property)) != null;
            if (!givenByEnvironment && System.getProperty(property) == null) {
                System.setProperty(property, value);
                applied.put(property, value);
            }
        });
        return applied;
    }
}
