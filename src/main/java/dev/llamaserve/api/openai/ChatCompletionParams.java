package dev.llamaserve.api.openai;

import dev.llamaserve.chat.ToolCallParser;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.OutputConstraint;
import dev.llamaserve.engine.SamplingParams;
import tools.jackson.databind.JsonNode;

/**
 * A chat completion request after parsing (JSON types checked; ranges are the engine validation's).
 *
 * @param model the model named by the request, or null when absent
 * @param messages the raw {@code messages} array (validated further by the prompt encoder)
 * @param tools the raw {@code tools} array, or null (also null when {@code tool_choice} is "none")
 * @param parallelToolCalls {@code parallel_tool_calls} (true when absent): false allows at most one call
 * @param chatTemplateKwargs the raw {@code chat_template_kwargs} object, or null
 * @param addGenerationPrompt vLLM's {@code add_generation_prompt} (true when absent)
 * @param continueFinalMessage vLLM's {@code continue_final_message} (false when absent)
 * @param stream SSE response
 * @param includeUsage {@code stream_options.include_usage}
 * @param logprobs {@code logprobs: true}
 * @param topLogprobs {@code top_logprobs} (0 when absent)
 * @param returnTokensAsTokenIds vLLM's {@code return_tokens_as_token_ids}
 * @param sampling the engine's sampling parameters, as given (the engine validates them)
 * @param names how this request spells the prompt, max-tokens and logprobs fields, for error messages
 */
public record ChatCompletionParams(
        String model,
        JsonNode messages,
        JsonNode tools,
        boolean parallelToolCalls,
        JsonNode chatTemplateKwargs,
        boolean addGenerationPrompt,
        boolean continueFinalMessage,
        boolean stream,
        boolean includeUsage,
        boolean logprobs,
        int topLogprobs,
        boolean returnTokensAsTokenIds,
        SamplingParams sampling,
        GenerationRequest.ParamNames names) {

    /**
     * Whether the output may be a tool call: tools given and tool_choice not "none" (with a response_format,
     * the constraint is then calls or the formatted answer, {@link OutputConstraint.ToolCallsOrAnswer}).
     */
    public boolean toolsEnabled() {
        return tools != null && !tools.isEmpty() && (sampling.constraint() == null
                || sampling.constraint() instanceof OutputConstraint.ToolCalls
                || sampling.constraint() instanceof OutputConstraint.ToolCallsOrAnswer);
    }

    /**
     * The calls the answer may hold, several only with {@code parallel_tool_calls}. Where a {@code response_format}
     * gives the answer a format beside the tools, a call names one of them (the answer may hold "name" and
     * "parameters" too); elsewhere the model's own call of a name it made up is still its call, for the client to
     * answer as it answers unknown tools.
     */
    public ToolCallParser.Calls toolCalls() {
        return ToolCallParser.Calls.of(sampling.constraint(), parallelToolCalls);
    }
}
