package dev.llamaserve;

import dev.llamaserve.config.NativeRuntimeDefaults;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class LlamaServeApplication {

    static {
        // Before anything loads DJL: CPU tokenizer natives and no downloads, also on CUDA machines offline.
        NativeRuntimeDefaults.apply();
    }

    public static void main(String[] args) {
        SpringApplication.run(LlamaServeApplication.class, args);
    }
}
