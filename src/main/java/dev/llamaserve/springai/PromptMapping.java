package dev.llamaserve.springai;

import dev.llamaserve.chat.ChatJson;
import dev.llamaserve.chat.ToolCallParser;
import dev.llamaserve.engine.OutputConstraint;
import dev.llamaserve.engine.SamplingParams;
import dev.llamaserve.springai.EngineChatOptions.ToolChoice;
import java.util.ArrayList;
import java.util.List;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.MessageType;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.tool.definition.ToolDefinition;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A Spring AI prompt in the shapes the chat layer and the engine take: the OpenAI-shaped {@code messages} and
 * {@code tools} arrays that {@code ChatFormat.prepare} validates and renders, and the {@link SamplingParams} with
 * the {@link OutputConstraint} that the engine enforces.
 */
final class PromptMapping {

    private PromptMapping() {}

    /** Spring AI options to engine sampling parameters (unset ones keep the model's defaults). */
    static SamplingParams sampling(ChatOptions o, Integer maxTokens) {
        SamplingParams.Builder b = SamplingParams.builder()
                .temperature(o.getTemperature())
                .topP(o.getTopP())
                .topK(o.getTopK())
                .maxTokens(maxTokens);
        if (o.getPresencePenalty() != null) {
            b.presencePenalty(o.getPresencePenalty());
        }
        if (o.getFrequencyPenalty() != null) {
            b.frequencyPenalty(o.getFrequencyPenalty());
        }
        if (o.getStopSequences() != null && !o.getStopSequences().isEmpty()) {
            b.stop(List.copyOf(o.getStopSequences()));
        }
        if (o instanceof EngineChatOptions e) {
            b.seed(e.getSeed());
        }
        return b.build();
    }

    /**
     * What the answer must be: tool calls when the tool choice forces them on this turn (see {@link ToolChoice}),
     * else, with an output schema, a document valid against it, or, where the model may call tools (AUTO), a call
     * of them ({@link OutputConstraint.ToolCallsOrAnswer}: their schemas enforced as far as they can be, never
     * refused), else free text (null).
     *
     * @param tools the tools shown to the model
     * @param afterToolResults whether the conversation ends with tool results (a forced choice then no longer applies)
     * @throws IllegalArgumentException for a forced choice without tools, or one naming a tool that is not given
     */
    static OutputConstraint constraint(EngineChatOptions o, List<ToolDefinition> tools, boolean afterToolResults) {
        ToolChoice choice = o.getToolChoice() == null ? ToolChoice.AUTO : o.getToolChoice();
        boolean forced = choice.mode() == ToolChoice.Mode.REQUIRED || choice.mode() == ToolChoice.Mode.FUNCTION;
        if (forced && !afterToolResults) {
            List<OutputConstraint.Function> functions = new ArrayList<>();
            for (ToolDefinition t : tools) {
                if (choice.function() == null || choice.function().equals(t.name())) {
                    functions.add(new OutputConstraint.Function(t.name(), ChatJson.parse(t.inputSchema())));
                }
            }
            if (functions.isEmpty()) {
                throw new IllegalArgumentException(choice.function() == null
                        ? "tool choice REQUIRED needs at least one tool"
                        : "tool choice names the function " + choice.function() + ", which is not among the tools");
            }
            return new OutputConstraint.ToolCalls(functions, parallel(o, afterToolResults));
        }
        if (o.getOutputSchema() != null && !o.getOutputSchema().isBlank()) {
            OutputConstraint.JsonSchema answer = new OutputConstraint.JsonSchema(null, ChatJson.parse(o.getOutputSchema()));
            if (tools.isEmpty() || forced) {   // after a forced turn's results the answer ends the loop
                return answer;
            }
            List<OutputConstraint.Function> functions = new ArrayList<>();
            for (ToolDefinition t : tools) {
                functions.add(new OutputConstraint.Function(t.name(), ChatJson.parse(t.inputSchema()), false));
            }
            return new OutputConstraint.ToolCallsOrAnswer(new OutputConstraint.ToolCalls(functions,
                    parallel(o, afterToolResults)), answer);
        }
        return null;
    }

    /**
     * Whether the answer may hold several calls, by the HTTP API's rule ({@link ToolCallParser.Calls#parallel}):
     * {@link EngineChatOptions#getParallelToolCalls()}, parallel where unset, and exactly one call where a
     * {@link ToolChoice#function named function} is in force (not after tool results, where the model answers freely).
     * The grammar ({@link #constraint}) and the parser of the model's calls both take it.
     */
    static boolean parallel(EngineChatOptions o, boolean afterToolResults) {
        boolean named = o.getToolChoice() != null && o.getToolChoice().mode() == ToolChoice.Mode.FUNCTION;
        return ToolCallParser.Calls.parallel(o.getParallelToolCalls(), named && !afterToolResults);
    }

    /** Whether the last message is a tool result (Spring AI's tool loop calling the model again). */
    static boolean endsWithToolResults(List<Message> instructions) {
        return !instructions.isEmpty()
                && instructions.get(instructions.size() - 1).getMessageType() == MessageType.TOOL;
    }

    /** The OpenAI-shaped {@code tools} array of Spring AI tool definitions (null when there are none). */
    static ArrayNode tools(List<ToolDefinition> definitions) {
        if (definitions.isEmpty()) {
            return null;
        }
        ArrayNode out = ChatJson.MAPPER.createArrayNode();
        for (ToolDefinition d : definitions) {
            ObjectNode function = out.addObject().put("type", "function").putObject("function").put("name", d.name());
            if (d.description() != null && !d.description().isBlank()) {
                function.put("description", d.description());
            }
            function.set("parameters", ChatJson.parse(d.inputSchema()));
        }
        return out;
    }

    /**
     * The OpenAI-shaped messages array of a Spring AI prompt. An assistant message with several tool calls stays
     * one message, followed by its results: the chat parser pairs each call with its result, for this adapter and
     * the HTTP API alike ({@code ChatRequestParser}).
     */
    static ArrayNode messages(List<Message> instructions) {
        ArrayNode out = ChatJson.MAPPER.createArrayNode();
        for (Message m : instructions) {
            switch (m.getMessageType()) {
                case SYSTEM -> out.addObject().put("role", "system").put("content", m.getText());
                case USER -> {
                    // text only, as the HTTP API refuses image, audio and file parts: never answer without them
                    if (m instanceof UserMessage u && !u.getMedia().isEmpty()) {
                        throw new IllegalArgumentException("a user message carries " + u.getMedia().size()
                                + " media (" + u.getMedia().get(0).getMimeType() + "): this model takes text only");
                    }
                    out.addObject().put("role", "user").put("content", m.getText());
                }
                case ASSISTANT -> {
                    AssistantMessage am = (AssistantMessage) m;
                    assistant(out, am.getText(), am.getToolCalls());
                }
                case TOOL -> ((ToolResponseMessage) m).getResponses().forEach(r -> toolResult(out, r));
            }
        }
        return out;
    }

    private static void assistant(ArrayNode out, String text, List<AssistantMessage.ToolCall> calls) {
        ObjectNode a = out.addObject().put("role", "assistant");
        if (text != null) {
            a.put("content", text);
        } else {
            a.putNull("content");
        }
        if (!calls.isEmpty()) {
            ArrayNode array = a.putArray("tool_calls");
            for (AssistantMessage.ToolCall c : calls) {
                ObjectNode call = array.addObject().put("id", c.id()).put("type", "function");
                call.putObject("function").put("name", c.name()).put("arguments", c.arguments());
            }
        }
    }

    private static void toolResult(ArrayNode out, ToolResponseMessage.ToolResponse r) {
        out.addObject().put("role", "tool").put("tool_call_id", r.id()).put("content", r.responseData());
    }
}
