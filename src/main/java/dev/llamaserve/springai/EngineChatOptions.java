package dev.llamaserve.springai;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.model.tool.DefaultToolCallingChatOptions;
import org.springframework.ai.model.tool.StructuredOutputChatOptions;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.tool.ToolCallback;

/**
 * {@link EngineChatModel}'s options: Spring AI's common ones, its tool callbacks ({@link ToolCallingChatOptions})
 * and output schema ({@link StructuredOutputChatOptions}, set by {@code ChatClient...entity(...)} with native
 * structured output), and what Spring AI has no common option for: {@link ToolChoice}, parallel tool calls and a
 * sampling seed.
 *
 * <pre>
 * chatClient.prompt().user("Weather in Paris?").tools(new WeatherTools())
 *         .options(EngineChatOptions.builder().toolChoice(ToolChoice.function("currentWeather")))
 *         .call().content();
 * </pre>
 */
public class EngineChatOptions extends DefaultToolCallingChatOptions implements StructuredOutputChatOptions {

    /**
     * Which tools the model must call: {@link #AUTO} (it decides; the default), {@link #NONE} (the tools are not
     * shown to it), {@link #REQUIRED} (one or more calls of the given tools; one without parallel tool calls), or
     * {@link #function(String)} (exactly one call of that tool). REQUIRED and a named function are enforced by the
     * engine's grammar, arguments valid against each tool's input schema. A forced choice applies to a turn that does
     * not end with tool results: once Spring AI's tool loop sends the results back, the model answers freely (as the
     * OpenAI Agents SDK's {@code reset_tool_choice}), or the loop would never end.
     *
     * @param mode the kind of choice
     * @param function the tool's name for {@link Mode#FUNCTION}, else null
     */
    public record ToolChoice(Mode mode, String function) {

        public enum Mode { AUTO, NONE, REQUIRED, FUNCTION }

        public static final ToolChoice AUTO = new ToolChoice(Mode.AUTO, null);
        public static final ToolChoice NONE = new ToolChoice(Mode.NONE, null);
        public static final ToolChoice REQUIRED = new ToolChoice(Mode.REQUIRED, null);

        public ToolChoice {
            Objects.requireNonNull(mode, "mode");
            if ((mode == Mode.FUNCTION) != (function != null)) {
                throw new IllegalArgumentException("a function name goes with Mode.FUNCTION only");
            }
        }

        /** Exactly one call of the tool named {@code name}. */
        public static ToolChoice function(String name) {
            return new ToolChoice(Mode.FUNCTION, Objects.requireNonNull(name, "name"));
        }
    }

    private final String outputSchema;
    private final ToolChoice toolChoice;
    private final Boolean parallelToolCalls;
    private final Long seed;

    protected EngineChatOptions(List<ToolCallback> toolCallbacks, Map<String, Object> toolContext, String model,
            Double frequencyPenalty, Integer maxTokens, Double presencePenalty, List<String> stopSequences,
            Double temperature, Integer topK, Double topP, String outputSchema, ToolChoice toolChoice,
            Boolean parallelToolCalls, Long seed) {
        super(toolCallbacks, toolContext, model, frequencyPenalty, maxTokens, presencePenalty, stopSequences,
                temperature, topK, topP);
        this.outputSchema = outputSchema;
        this.toolChoice = toolChoice;
        this.parallelToolCalls = parallelToolCalls;
        this.seed = seed;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The JSON schema the answer must match (enforced by the engine), or null. */
    @Override
    public String getOutputSchema() {
        return outputSchema;
    }

    /** The tool choice, or null (then {@link ToolChoice#AUTO}). */
    public ToolChoice getToolChoice() {
        return toolChoice;
    }

    /**
     * Whether an answer may hold several calls (OpenAI's {@code parallel_tool_calls}; null: true, OpenAI's default,
     * as over HTTP): the grammar of {@link ToolChoice#REQUIRED} and of {@link ToolChoice#AUTO} beside an output
     * schema allows several, and AUTO's several calls all come back; false allows one (with AUTO, the first of the
     * model's calls). A {@link ToolChoice#function named function} is exactly one call whatever this says. Llama
     * 3.1's template renders one call per assistant message, so several calls go back to the model as consecutive
     * call/result pairs.
     */
    public Boolean getParallelToolCalls() {
        return parallelToolCalls;
    }

    /** The sampling seed (null: unseeded). */
    public Long getSeed() {
        return seed;
    }

    @Override
    public Builder mutate() {
        return new Builder()
                .model(getModel()).frequencyPenalty(getFrequencyPenalty()).maxTokens(getMaxTokens())
                .presencePenalty(getPresencePenalty()).stopSequences(getStopSequences()).temperature(getTemperature())
                .topK(getTopK()).topP(getTopP()).toolCallbacks(getToolCallbacks()).toolContext(getToolContext())
                .outputSchema(outputSchema).toolChoice(toolChoice).parallelToolCalls(parallelToolCalls).seed(seed);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EngineChatOptions that && super.equals(o) && Objects.equals(outputSchema, that.outputSchema)
                && Objects.equals(toolChoice, that.toolChoice)
                && Objects.equals(parallelToolCalls, that.parallelToolCalls)
                && Objects.equals(seed, that.seed);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), outputSchema, toolChoice, parallelToolCalls, seed);
    }

    public static class Builder extends DefaultToolCallingChatOptions.Builder<Builder>
            implements StructuredOutputChatOptions.Builder<Builder> {

        private String outputSchema;
        private ToolChoice toolChoice;
        private Boolean parallelToolCalls;
        private Long seed;

        @Override
        public Builder outputSchema(String schema) {
            this.outputSchema = schema;
            return self();
        }

        public Builder toolChoice(ToolChoice choice) {
            this.toolChoice = choice;
            return self();
        }

        public Builder parallelToolCalls(Boolean parallel) {
            this.parallelToolCalls = parallel;
            return self();
        }

        public Builder seed(Long seed) {
            this.seed = seed;
            return self();
        }

        /**
         * Takes what {@code other} sets: the common and tool-calling options as Spring AI merges them, this class's
         * own ones, and the output schema of any {@link StructuredOutputChatOptions} builder.
         */
        @Override
        public Builder combineWith(ChatOptions.Builder<?> other) {
            super.combineWith(other);
            if (other instanceof Builder that) {
                outputSchema = that.outputSchema != null ? that.outputSchema : outputSchema;
                toolChoice = that.toolChoice != null ? that.toolChoice : toolChoice;
                parallelToolCalls = that.parallelToolCalls != null ? that.parallelToolCalls : parallelToolCalls;
                seed = that.seed != null ? that.seed : seed;
            } else if (other instanceof StructuredOutputChatOptions.Builder<?>
                    && other.build() instanceof StructuredOutputChatOptions s && s.getOutputSchema() != null) {
                outputSchema = s.getOutputSchema();
            }
            return self();
        }

        @Override
        public EngineChatOptions build() {
            return new EngineChatOptions(toolCallbacks, toolContext, model, frequencyPenalty, maxTokens,
                    presencePenalty, stopSequences, temperature, topK, topP, outputSchema, toolChoice,
                    parallelToolCalls, seed);
        }
    }
}
