package dev.llamaserve.engine;

import java.util.List;
import java.util.Objects;
import tools.jackson.databind.JsonNode;

/**
 * What the completion must be, enforced token by token by the engine's grammar. A strict schema is enforced
 * exactly, or refused with an {@link InvalidRequestException} naming the keyword it cannot enforce; a schema
 * that is not strict (OpenAI's default) is enforced without such keywords (a {@code oneOf} as {@code anyOf}).
 * Carried by {@link SamplingParams#constraint()}; null there means free text.
 */
public sealed interface OutputConstraint {

    /** Any JSON object ({@code response_format: {"type": "json_object"}}). */
    record JsonObject() implements OutputConstraint {}

    /**
     * A JSON document valid against {@code schema} ({@code response_format: {"type": "json_schema", ...}}).
     *
     * @param name the caller's name for the schema (for messages; may be null)
     * @param schema the JSON schema
     * @param strict exactly or refused; false: without the keywords that cannot be enforced
     */
    record JsonSchema(String name, JsonNode schema, boolean strict) implements OutputConstraint {
        public JsonSchema {
            Objects.requireNonNull(schema, "schema");
        }

        /** A strict schema. */
        public JsonSchema(String name, JsonNode schema) {
            this(name, schema, true);
        }
    }

    /**
     * One or more tool calls in Llama 3.1's JSON tool-call format, each naming one of {@code functions} with
     * arguments valid against its {@code parameters} schema ({@code tool_choice: "required"}, or a named
     * function: then {@code functions} holds that one).
     *
     * @param functions the callable functions
     * @param parallel whether more than one call may be made ({@code parallel_tool_calls})
     */
    record ToolCalls(List<Function> functions, boolean parallel) implements OutputConstraint {
        public ToolCalls {
            functions = List.copyOf(functions);
            if (functions.isEmpty()) {
                throw new IllegalArgumentException("functions is empty");
            }
        }
    }

    /**
     * Tool calls or an answer in a format: what the model may write when it may call tools but need not
     * ({@code tool_choice} auto) and its answer has a {@code response_format}: either {@code calls} (their
     * parameters enforced as far as they can be) or a document of {@code answer}.
     *
     * @param calls the tools the model may call
     * @param answer {@link JsonObject} or {@link JsonSchema}
     */
    record ToolCallsOrAnswer(ToolCalls calls, OutputConstraint answer) implements OutputConstraint {
        public ToolCallsOrAnswer {
            Objects.requireNonNull(calls, "calls");
            if (!(answer instanceof JsonObject || answer instanceof JsonSchema)) {
                throw new IllegalArgumentException("the answer must be a JSON object or a JSON schema, got " + answer);
            }
        }

        /**
         * Whether {@code output}, what the model wrote under this constraint, was written as tool calls: the grammar
         * of {@link #calls()} alone, their parameters enforced as here, allows it (whole, or as the beginning of
         * calls, where the output was cut). An answer may look like calls (an answer schema with "name" and
         * "parameters" properties, a tool's name) without any tool's parameters having been enforced on it: it is
         * then the answer, not calls.
         */
        public boolean allowsCalls(String output) {
            return ConstraintRules.allowsCalls(this, output);
        }
    }

    /**
     * @param name the function's name
     * @param parameters its JSON schema for the arguments (an empty object schema when the tool declares none)
     * @param strict as {@link JsonSchema#strict()}, for {@code parameters}
     */
    record Function(String name, JsonNode parameters, boolean strict) {
        public Function {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(parameters, "parameters");
        }

        /** A function whose parameters schema is strict. */
        public Function(String name, JsonNode parameters) {
            this(name, parameters, true);
        }
    }
}
