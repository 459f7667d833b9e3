package dev.llamaserve;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class LlamaServeApplication {

    public static void main(String[] args) {
        SpringApplication.run(LlamaServeApplication.class, args);
    }
}
