package dev.llamaserve.config;

import ai.djl.huggingface.tokenizers.jni.LibUtils;
import ai.djl.util.Utils;
import java.nio.file.Files;
import java.util.stream.Stream;

/**
 * Run in a child JVM by {@link NativeRuntimeDefaultsIT}: initializes the application class exactly as the
 * JVM does before calling its {@code main}, then reports what DJL itself sees.
 */
public final class NativeRuntimeProbe {

    private NativeRuntimeProbe() {}

    public static void main(String[] args) throws Exception {
        Class.forName("dev.llamaserve.LlamaServeApplication");
        System.out.println("RUST_FLAVOR=" + Utils.getEnvOrSystemProperty("RUST_FLAVOR"));
        System.out.println("offline=" + Utils.isOfflineMode());
        if (args.length > 0 && args[0].equals("load-tokenizer")) {
            LibUtils.checkStatus();
            try (Stream<java.nio.file.Path> dirs = Files.list(Utils.getEngineCacheDir("tokenizers"))) {
                dirs.forEach(d -> System.out.println("extracted=" + d.getFileName()));
            }
        }
    }
}
