package dev.llamaserve.api.openai;

import static dev.llamaserve.api.openai.JsonFields.bool;
import static dev.llamaserve.api.openai.JsonFields.field;
import static dev.llamaserve.api.openai.JsonFields.typeError;

import dev.llamaserve.chat.ToolCallParser;
import dev.llamaserve.engine.OutputConstraint;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * Reads the request fields that constrain the output into the engine's {@link OutputConstraint}:
 * {@code response_format} ({@code text}, {@code json_object}, {@code json_schema}) and, for chat,
 * {@code tool_choice} {@code "required"} or a named function with {@code parallel_tool_calls}. Wrong types
 * and unknown values are 400s here; whether a schema can be enforced is the engine's validation.
 */
final class ConstraintParser {

    /** A tool without {@code parameters} takes none: only {@code {}}. */
    private static final JsonNode NO_PARAMETERS = OpenAiJson.MAPPER.readTree(
            "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}");

    private ConstraintParser() {}

    /** {@code response_format}, or null for free text (absent or {@code "text"}). */
    static OutputConstraint responseFormat(JsonNode root) {
        JsonNode format = field(root, "response_format");
        if (format == null) {
            return null;
        }
        if (!format.isObject()) {
            throw typeError("response_format", "an object", format);
        }
        String type = text(format, "type", "response_format.type");
        if (type == null) {
            throw ApiException.invalid("response_format", "missing_required_parameter",
                    "'response_format.type' is required");
        }
        switch (type) {
            case "text":
                return null;
            case "json_object":
                return new OutputConstraint.JsonObject();
            case "json_schema":
                return jsonSchema(format);
            default:
                throw ApiException.invalid("response_format", "invalid_value", "'response_format.type' must be "
                        + "\"text\", \"json_object\" or \"json_schema\", got " + quote(type));
        }
    }

    private static OutputConstraint jsonSchema(JsonNode format) {
        JsonNode spec = field(format, "json_schema");
        if (spec == null) {
            throw ApiException.invalid("response_format", "missing_required_parameter",
                    "'response_format.json_schema' is required when 'response_format.type' is \"json_schema\"");
        }
        if (!spec.isObject()) {
            throw typeError("response_format.json_schema", "an object", spec);
        }
        String name = text(spec, "name", "response_format.json_schema.name");
        boolean strict = strict(spec, "response_format.json_schema.strict");
        JsonNode schema = field(spec, "schema");
        if (schema == null) {
            return new OutputConstraint.JsonSchema(name, OpenAiJson.MAPPER.createObjectNode(), strict);
        }
        if (!schema.isObject() && !schema.isBoolean()) {
            throw typeError("response_format.json_schema.schema", "an object", schema);
        }
        return new OutputConstraint.JsonSchema(name, schema, strict);
    }

    /**
     * {@code strict} of a json_schema or a function, false when absent (OpenAI's default): a strict schema is
     * enforced exactly or refused, one that is not goes without what cannot be enforced.
     */
    private static boolean strict(JsonNode node, String param) {
        JsonNode strict = field(node, "strict");
        if (strict != null && !strict.isBoolean()) {
            throw typeError(param, "a boolean", strict);
        }
        return strict != null && strict.booleanValue();
    }

    /**
     * The tool-call constraint of {@code tool_choice}: {@code "required"} (any of the tools) or
     * {@code {"type":"function","function":{"name":…}}} (that one); null for {@code "auto"}, {@code "none"} or
     * absent.
     *
     * @param tools the request's {@code tools} array (null when absent)
     */
    static OutputConstraint toolChoice(JsonNode root, JsonNode tools) {
        JsonNode choice = field(root, "tool_choice");
        Boolean parallelToolCalls = bool(root, "parallel_tool_calls");
        if (choice == null) {
            return null;
        }
        if (choice.isString()) {
            switch (choice.asString()) {
                case "none":
                case "auto":
                    return null;
                case "required":
                    return new OutputConstraint.ToolCalls(functions(tools, null),
                            ToolCallParser.Calls.parallel(parallelToolCalls, false));
                default:
                    throw ApiException.invalid("tool_choice", "invalid_value", "'tool_choice' must be \"none\", "
                            + "\"auto\", \"required\" or a named function, got " + quote(choice.asString()));
            }
        }
        if (!choice.isObject()) {
            throw typeError("tool_choice", "a string or an object", choice);
        }
        String type = text(choice, "type", "tool_choice.type");
        if (type != null && !type.equals("function")) {
            throw ApiException.invalid("tool_choice", "invalid_value", "'tool_choice.type' must be \"function\", got "
                    + quote(type));
        }
        JsonNode function = field(choice, "function");
        if (function == null || !function.isObject()) {
            throw ApiException.invalid("tool_choice", "missing_required_parameter",
                    "'tool_choice.function' with a 'name' is required");
        }
        String name = text(function, "name", "tool_choice.function.name");
        if (name == null) {
            throw ApiException.invalid("tool_choice", "missing_required_parameter",
                    "'tool_choice.function.name' is required");
        }
        return new OutputConstraint.ToolCalls(functions(tools, name), ToolCallParser.Calls.parallel(parallelToolCalls,
                true));
    }

    /** {@code parallel_tool_calls}, true when absent (OpenAI's default: {@link ToolCallParser.Calls#parallel}). */
    static boolean parallel(JsonNode root) {
        return ToolCallParser.Calls.parallel(bool(root, "parallel_tool_calls"), false);
    }

    /**
     * The output constraint of a chat request: a forced {@code tool_choice}'s calls; else, where the model may
     * call tools (tools given, tool_choice auto or absent) and {@code response_format} gives the answer a format,
     * tool calls or that answer (as OpenAI's: the format is the answer's, calls stay possible); else the
     * response_format's (null: free text).
     *
     * @param tools the request's tools (null or empty: none)
     * @param toolChoiceNone whether {@code tool_choice} is "none"
     */
    static OutputConstraint chat(JsonNode root, JsonNode tools, boolean toolChoiceNone) {
        OutputConstraint calls = toolChoice(root, tools);
        OutputConstraint format = responseFormat(root);
        if (calls != null) {
            return calls;
        }
        if (format != null && !toolChoiceNone && tools != null && !tools.isEmpty()) {
            return new OutputConstraint.ToolCallsOrAnswer(
                    new OutputConstraint.ToolCalls(functions(tools, null), parallel(root)), format);
        }
        return format;
    }

    /** The tools' functions (only the one called {@code only}, when given). */
    private static List<OutputConstraint.Function> functions(JsonNode tools, String only) {
        if (tools == null || tools.isEmpty()) {
            throw ApiException.invalid("tool_choice", "invalid_value",
                    "'tool_choice' " + (only == null ? "\"required\"" : "naming a function") + " needs 'tools'");
        }
        List<OutputConstraint.Function> out = new ArrayList<>();
        for (int i = 0; i < tools.size(); i++) {
            // each tool checked by ChatRequestParser.parseTools: a function object with a string name, parameters
            // an object or a boolean
            String at = "tools[" + i + "].function";
            JsonNode function = tools.get(i).get("function");
            String name = function.get("name").asString();
            JsonNode params = field(function, "parameters");
            if (only == null || only.equals(name)) {
                out.add(new OutputConstraint.Function(name, params == null ? NO_PARAMETERS : params,
                        strict(function, at + ".strict")));
            }
        }
        if (out.isEmpty()) {
            throw ApiException.invalid("tool_choice", "invalid_value", "'tool_choice' names function " + quote(only)
                    + ", which is not among 'tools'");
        }
        return out.subList(0, only == null ? out.size() : 1);
    }

    /** A string field of {@code node}, or null; a wrong type is a 400 naming {@code param}. */
    private static String text(JsonNode node, String field, String param) {
        JsonNode n = field(node, field);
        if (n != null && !n.isString()) {
            throw typeError(param, "a string", n);
        }
        return n == null ? null : n.asString();
    }

    private static String quote(String s) {
        String t = s.length() > 40 ? s.substring(0, 37) + "..." : s;
        return "\"" + t + "\"";
    }
}
