# llama-serve, CPU image: the Spring Boot jar as layers on a Temurin JRE, libtorch (CPU) from the jar.
#
#   docker build -t llama-serve:0.1.0 .
#   docker run --rm -p 8080:8080 --read-only --tmpfs /tmp:exec \
#     --tmpfs /var/cache/djl:exec --tmpfs /var/cache/llama-serve llama-serve:0.1.0  # demo checkpoint
#   docker run ... -v /models/Llama-3.1-8B-Instruct:/models/Llama-3.1-8B-Instruct:ro \
#     -e LLM_MODEL_PATH=/models/Llama-3.1-8B-Instruct llama-serve:0.1.0             # a mounted checkpoint
#
# The image never downloads weights: LLM_MODEL_PATH names a checkpoint directory mounted into the container;
# unset, the built-in demo checkpoint (random weights, ~7 MB) is written into LLM_CACHE_DIR.
# Read-only root filesystem: everything the process writes goes to /tmp (java.io.tmpdir), /var/cache/djl
# (DJL_CACHE_DIR / ENGINE_CACHE_DIR: libtorch and tokenizer natives extracted at start) and
# /var/cache/llama-serve (llm.cache-dir); mount writable volumes there (tmpfs: with exec, natives load from them).

ARG JDK_IMAGE=eclipse-temurin:17.0.15_6-jdk-noble
ARG JRE_IMAGE=eclipse-temurin:17.0.15_6-jre-noble

FROM ${JDK_IMAGE} AS build
WORKDIR /build
# The wrapper and the POM alone first: this dependency layer is rebuilt only when the POM changes.
COPY mvnw pom.xml ./
COPY .mvn/ .mvn/
RUN chmod +x mvnw && ./mvnw -B -q dependency:go-offline
# gcc builds llama-serve's native CPU kernels (src/main/native, README "Native kernels") into the jar.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
COPY src/main/ src/main/
RUN ./mvnw -B -q -Dmaven.test.skip=true package \
 && java -Djarmode=tools -jar target/llama-serve-*.jar extract --layers --launcher --destination /build/extracted

FROM ${JRE_IMAGE}
RUN groupadd --system --gid 10001 llama \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/llama --create-home --shell /usr/sbin/nologin llama \
 && mkdir -p /app /models /var/cache/djl /var/cache/llama-serve \
 && chown 10001:10001 /var/cache/djl /var/cache/llama-serve
WORKDIR /app
# Least-changing layers first: third-party jars, the Boot loader, snapshot jars, the application.
COPY --from=build /build/extracted/dependencies/ ./
COPY --from=build /build/extracted/spring-boot-loader/ ./
COPY --from=build /build/extracted/snapshot-dependencies/ ./
COPY --from=build /build/extracted/application/ ./
# Heap is a small share of the container's memory limit: weights and KV cache live off-heap in libtorch.
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=25.0 -XX:+ExitOnOutOfMemoryError -Djava.io.tmpdir=/tmp -Djna.tmpdir=/tmp" \
    DJL_CACHE_DIR=/var/cache/djl \
    ENGINE_CACHE_DIR=/var/cache/djl \
    LLM_CACHE_DIR=/var/cache/llama-serve \
    HOME=/home/llama
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["java", "org.springframework.boot.loader.launch.JarLauncher"]
