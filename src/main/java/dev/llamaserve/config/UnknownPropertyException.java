package dev.llamaserve.config;

import java.util.List;
import java.util.stream.Collectors;

/** Startup found {@code llm.*} settings that no configuration class binds (usually a typo). */
public class UnknownPropertyException extends RuntimeException {

    /**
     * @param name the setting as written ({@code llm.engine.max-num-seq}, {@code LLM_ENGINE_MAX_NUM_SEQ})
     * @param source where it was set (property source name: {@code commandLineArgs}, {@code systemEnvironment}, ...)
     * @param nearest the known property nearest to it by edit distance
     */
    public record Unknown(String name, String source, String nearest) {}

    private final List<Unknown> unknown;

    public UnknownPropertyException(List<Unknown> unknown) {
        super(unknown.stream().map(u -> u.name() + " (" + u.source() + "): did you mean " + u.nearest() + "?")
                .collect(Collectors.joining("; ", "unknown llm.* properties: ", "")));
        this.unknown = List.copyOf(unknown);
    }

    public List<Unknown> unknown() {
        return unknown;
    }
}
