package dev.llamaserve.chat;

import static dev.llamaserve.engine.InvalidRequestException.EMPTY_ARRAY;
import static dev.llamaserve.engine.InvalidRequestException.INVALID_TYPE;
import static dev.llamaserve.engine.InvalidRequestException.INVALID_VALUE;
import static dev.llamaserve.engine.InvalidRequestException.MISSING;
import static dev.llamaserve.engine.InvalidRequestException.TOO_MANY;
import static dev.llamaserve.engine.InvalidRequestException.UNSUPPORTED_CONTENT;
import static dev.llamaserve.engine.InvalidRequestException.UNSUPPORTED_VALUE;

import dev.llamaserve.chat.ChatMessage.Role;
import dev.llamaserve.engine.InvalidRequestException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * Turns the raw OpenAI {@code messages} and {@code tools} JSON into a validated {@link Conversation},
 * or throws a {@link InvalidRequestException} naming the field, the rule, the limit and the value.
 *
 * <p>Accepted: roles system, developer (as system), user, assistant, tool and ipython (both as tool
 * results); content as a string or an array of text parts (joined with "\n", as vLLM does), or null on
 * an assistant message that carries tool_calls or OpenAI's {@code refusal} (whose text it then is; an
 * assistant's {@code refusal} parts count as text parts); tool calls with {@code arguments} either the OpenAI JSON
 * string (parsed) or a JSON value; a tool message only after an assistant tool call (or another tool
 * message). {@code tool_calls: null} or {@code []} and {@code tools: null} or {@code []} count as absent.
 *
 * <p>Llama 3.1's template renders one call per assistant turn (the reference raises on more), while OpenAI
 * clients send back an assistant message with all its parallel calls, then one tool message per call. Such a
 * message becomes one call per turn, each followed by its result (matched by {@code tool_call_id}, else in
 * order): the sequence a Llama 3.1 model itself produces when it calls tools one after another.
 */
public final class ChatRequestParser {

    static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool", "ipython");
    private static final Map<String, String> MEDIA_PARTS = Map.of(
            "image_url", "images", "image", "images", "input_image", "images",
            "input_audio", "audio", "audio_url", "audio", "video_url", "video", "file", "files");

    private final int maxMessages;

    /** @param maxMessages {@code llm.chat.max-messages} */
    public ChatRequestParser(int maxMessages) {
        if (maxMessages < 1) {
            throw new IllegalArgumentException("maxMessages must be at least 1, got " + maxMessages);
        }
        this.maxMessages = maxMessages;
    }

    /**
     * @param messages the request's {@code messages} (null or missing: an error)
     * @param tools the request's {@code tools} (null, missing or empty: no tools)
     */
    public Conversation parse(JsonNode messages, JsonNode tools) {
        requireMessages(messages);
        if (messages.size() > maxMessages) {
            throw new InvalidRequestException("messages", TOO_MANY, "messages has " + messages.size()
                    + " entries; the limit is " + maxMessages + " (llm.chat.max-messages)");
        }
        List<ChatMessage> parsed = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage previous = parsed.isEmpty() ? null : parsed.get(parsed.size() - 1);
            parsed.addAll(parseMessage(messages.get(i), i, previous));
        }
        return new Conversation(pairCallsWithResults(parsed), parseTools(tools));
    }

    /**
     * The calls of one assistant message (several, in order) each followed by its result from the tool messages
     * right after them: the result whose {@code tool_call_id} is the call's id, else the first one not matched
     * by id. Results left over follow the last call, in their order.
     */
    static List<ChatMessage> pairCallsWithResults(List<ChatMessage> parsed) {
        List<ChatMessage> out = new ArrayList<>(parsed.size());
        int i = 0;
        while (i < parsed.size()) {
            int end = i + 1;
            if (parsed.get(i) instanceof ChatMessage.ToolCall first) {
                while (end < parsed.size() && parsed.get(end) instanceof ChatMessage.ToolCall c
                        && c.index() == first.index()) {
                    end++;
                }
            }
            if (end - i < 2) {
                out.add(parsed.get(i++));
                continue;
            }
            List<ChatMessage.ToolCall> calls = new ArrayList<>();
            parsed.subList(i, end).forEach(m -> calls.add((ChatMessage.ToolCall) m));
            List<ChatMessage.ToolResult> results = new ArrayList<>();
            while (end < parsed.size() && parsed.get(end) instanceof ChatMessage.ToolResult r) {
                results.add(r);
                end++;
            }
            Set<String> ids = new HashSet<>();
            calls.forEach(c -> ids.add(c.id()));
            for (ChatMessage.ToolCall c : calls) {
                out.add(c);
                ChatMessage.ToolResult match = null;
                for (ChatMessage.ToolResult r : results) {
                    if (c.id() != null && c.id().equals(r.toolCallId())) {
                        match = r;
                        break;
                    }
                }
                if (match == null) {   // no result names this call: the first that names none of them
                    match = results.stream().filter(r -> r.toolCallId() == null || !ids.contains(r.toolCallId()))
                            .findFirst().orElse(null);
                }
                if (match != null) {
                    results.remove(match);
                    out.add(match);
                }
            }
            out.addAll(results);
            i = end;
        }
        return out;
    }

    private List<ChatMessage> parseMessage(JsonNode m, int i, ChatMessage previous) {
        String at = "messages[" + i + "]";
        if (m == null || !m.isObject()) {
            throw new InvalidRequestException(at, INVALID_TYPE, at + " must be an object; got " + describe(m));
        }
        String role = requireString(m.get("role"), at + ".role");
        if (!ROLES.contains(role)) {
            throw new InvalidRequestException(at + ".role", INVALID_VALUE, at + ".role must be one of system, "
                    + "developer, user, assistant, tool, ipython; got " + quote(role));
        }
        JsonNode toolCalls = m.get("tool_calls");
        boolean hasToolCalls = toolCalls != null && !toolCalls.isNull() && !(toolCalls.isArray() && toolCalls.size() == 0);
        if (hasToolCalls && !role.equals("assistant")) {
            throw new InvalidRequestException(at + ".tool_calls", INVALID_VALUE,
                    at + ".tool_calls is only allowed on assistant messages; this message's role is " + role);
        }
        switch (role) {
            case "tool", "ipython" -> {
                boolean followsCall = previous instanceof ChatMessage.ToolCall || previous instanceof ChatMessage.ToolResult;
                if (!followsCall) {
                    throw new InvalidRequestException(at + ".role", INVALID_VALUE, ChatMessage.aMessageOf(role)
                            + " must follow an assistant message with tool_calls (or another tool result); " + at
                            + " follows " + (previous == null ? "nothing" : describe(previous)));
                }
                String content = content(m.get("content"), at + ".content", role);
                JsonNode id = m.get("tool_call_id");
                return List.of(new ChatMessage.ToolResult(i, id != null && id.isString() ? id.stringValue() : null,
                        content));
            }
            case "assistant" -> {
                JsonNode functionCall = m.get("function_call");   // else dropped, or "content is required"
                if (functionCall != null && !functionCall.isNull()) {
                    throw new InvalidRequestException(at + ".function_call", UNSUPPORTED_VALUE, at + ".function_call"
                            + " (deprecated by OpenAI) is not supported: send the call as tool_calls, and its result"
                            + " as a tool message");
                }
                if (hasToolCalls) {
                    return parseToolCalls(toolCalls, i, at + ".tool_calls");
                }
                JsonNode refusal = m.get("refusal");   // OpenAI's refused answer: content null, the text here
                if ((m.get("content") == null || m.get("content").isNull()) && refusal != null && refusal.isString()) {
                    return List.of(new ChatMessage.Text(i, Role.ASSISTANT, refusal.stringValue()));
                }
                return List.of(new ChatMessage.Text(i, Role.ASSISTANT, content(m.get("content"), at + ".content", role)));
            }
            case "user" -> {
                return List.of(new ChatMessage.Text(i, Role.USER, content(m.get("content"), at + ".content", role)));
            }
            default -> { // system, developer
                return List.of(new ChatMessage.Text(i, Role.SYSTEM, content(m.get("content"), at + ".content", role)));
            }
        }
    }

    private static List<ChatMessage> parseToolCalls(JsonNode toolCalls, int i, String at) {
        if (!toolCalls.isArray()) {
            throw new InvalidRequestException(at, INVALID_TYPE, at + " must be an array; got " + describe(toolCalls));
        }
        List<ChatMessage> calls = new ArrayList<>(toolCalls.size());
        for (int c = 0; c < toolCalls.size(); c++) {
            calls.add(parseToolCall(toolCalls.get(c), i, c, at + "[" + c + "]"));
        }
        return calls;
    }

    private static ChatMessage.ToolCall parseToolCall(JsonNode call, int i, int c, String callAt) {
        if (!call.isObject()) {
            throw new InvalidRequestException(callAt, INVALID_TYPE, callAt + " must be an object; got " + describe(call));
        }
        requireFunctionType(call.get("type"), callAt + ".type");
        JsonNode function = call.get("function");
        if (function == null || function.isNull()) {
            throw new InvalidRequestException(callAt + ".function", MISSING, callAt + ".function is required");
        }
        if (!function.isObject()) {
            throw new InvalidRequestException(callAt + ".function", INVALID_TYPE,
                    callAt + ".function must be an object; got " + describe(function));
        }
        String name = requireString(function.get("name"), callAt + ".function.name");
        String argsAt = callAt + ".function.arguments";
        JsonNode args = function.get("arguments");
        if (args == null || args.isNull()) {
            throw new InvalidRequestException(argsAt, MISSING, argsAt + " is required (a JSON object as a string)");
        }
        JsonNode arguments = args;
        if (args.isString() && args.stringValue().isBlank()) {
            arguments = ChatJson.parse("{}");   // as vLLM reads an empty one
        } else if (args.isString()) {
            try {
                arguments = ChatJson.parse(args.stringValue());
            } catch (JacksonException | IllegalArgumentException e) {
                // a call cut by max_tokens comes back with its arguments as far as written, and an agent's memory
                // sends it back: the template writes them as the string they are (tojson), not a 400 for ever after
                arguments = args;
            }
        }
        JsonNode id = call.get("id");
        return new ChatMessage.ToolCall(i, c, id != null && id.isString() ? id.stringValue() : null, name, arguments);
    }

    /** A string, or text parts joined with "\n"; null/missing is an error (tool calls are handled before). */
    private static String content(JsonNode content, String at, String role) {
        if (content == null || content.isNull()) {
            String hint = role.equals("assistant") ? " (it may be null only when the message has tool_calls, or a refusal)" : "";
            throw new InvalidRequestException(at, MISSING, at + " is required for " + ChatMessage.aMessageOf(role) + hint);
        }
        if (content.isString()) {
            return content.stringValue();
        }
        if (!content.isArray()) {
            throw new InvalidRequestException(at, INVALID_TYPE,
                    at + " must be a string or an array of text parts; got " + describe(content));
        }
        StringBuilder joined = new StringBuilder();
        for (int p = 0; p < content.size(); p++) {
            String partAt = at + "[" + p + "]";
            JsonNode part = content.get(p);
            if (!part.isObject()) {
                throw new InvalidRequestException(partAt, INVALID_TYPE,
                        partAt + " must be a content part object; got " + describe(part));
            }
            String type = requireString(part.get("type"), partAt + ".type");
            if (MEDIA_PARTS.containsKey(type)) {
                throw new InvalidRequestException(partAt + ".type", UNSUPPORTED_CONTENT, partAt + " is a part of type "
                        + quote(type) + ": this model takes text only (no " + MEDIA_PARTS.get(type) + ")");
            }
            // an assistant's content may hold OpenAI's refusal parts: their text is what the assistant said
            String field = type.equals("refusal") && role.equals("assistant") ? "refusal" : "text";
            if (!type.equals(field)) {
                throw new InvalidRequestException(partAt + ".type", INVALID_VALUE, partAt + ".type must be \"text\""
                        + (role.equals("assistant") ? " or \"refusal\"" : "") + "; got " + quote(type));
            }
            String text = requireString(part.get(field), partAt + "." + field);
            if (p > 0) {
                joined.append('\n');
            }
            joined.append(text);
        }
        return joined.toString();
    }

    /** {@code messages} is there, an array, and not empty (every entry point, before anything reads it). */
    public static void requireMessages(JsonNode messages) {
        if (messages == null || messages.isNull() || messages.isMissingNode()) {
            throw new InvalidRequestException("messages", MISSING, "messages is required");
        }
        if (!messages.isArray()) {
            throw new InvalidRequestException("messages", INVALID_TYPE,
                    "messages must be an array of messages; got " + describe(messages));
        }
        if (messages.size() == 0) {
            throw new InvalidRequestException("messages", EMPTY_ARRAY,
                    "messages must contain at least 1 message; got 0");
        }
    }

    /**
     * The request's tools, each checked: an object of type "function" with a {@code function} object that has a
     * string {@code name} and, if any, {@code parameters} that are a JSON Schema (an object, or a boolean). Every
     * entry point checks tools here, whether or not the request constrains its calls.
     */
    public static List<JsonNode> parseTools(JsonNode tools) {
        if (tools == null || tools.isNull() || tools.isMissingNode()) {
            return List.of();
        }
        if (!tools.isArray()) {
            throw new InvalidRequestException("tools", INVALID_TYPE, "tools must be an array; got " + describe(tools));
        }
        List<JsonNode> out = new ArrayList<>(tools.size());
        for (int t = 0; t < tools.size(); t++) {
            String at = "tools[" + t + "]";
            JsonNode tool = tools.get(t);
            if (!tool.isObject()) {
                throw new InvalidRequestException(at, INVALID_TYPE, at + " must be an object; got " + describe(tool));
            }
            requireFunctionType(tool.get("type"), at + ".type");
            JsonNode function = tool.get("function");
            if (function == null || function.isNull()) {
                throw new InvalidRequestException(at + ".function", MISSING, at + ".function is required");
            }
            if (!function.isObject()) {
                throw new InvalidRequestException(at + ".function", INVALID_TYPE,
                        at + ".function must be an object; got " + describe(function));
            }
            requireString(function.get("name"), at + ".function.name");
            JsonNode parameters = function.get("parameters");
            if (parameters != null && !parameters.isNull() && !parameters.isObject() && !parameters.isBoolean()) {
                throw new InvalidRequestException(at + ".function.parameters", INVALID_TYPE,
                        at + ".function.parameters must be an object (a JSON Schema); got " + describe(parameters));
            }
            out.add(tool);
        }
        return out;
    }

    /** A tool's or a tool call's {@code type}: "function", or absent (null reads as absent). */
    private static void requireFunctionType(JsonNode type, String at) {
        if (type != null && !type.isNull() && !type.isMissingNode() && !"function".equals(type.asString(""))) {
            throw new InvalidRequestException(at, INVALID_VALUE, at + " must be \"function\"; got "
                    + (type.isString() ? quote(type.stringValue()) : describe(type)));
        }
    }

    private static String requireString(JsonNode node, String at) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            throw new InvalidRequestException(at, MISSING, at + " is required");
        }
        if (!node.isString()) {
            throw new InvalidRequestException(at, INVALID_TYPE, at + " must be a string; got " + describe(node));
        }
        return node.stringValue();
    }

    static String describe(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "nothing";
        }
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    private static String describe(ChatMessage m) {
        if (m instanceof ChatMessage.Text t) {
            return "messages[" + t.index() + "], " + ChatMessage.aMessageOf(t.role().header());
        }
        return "messages[" + m.index() + "], a " + (m instanceof ChatMessage.ToolCall ? "tool call" : "tool result");
    }

    /** A short, quoted excerpt of a bad value. */
    static String quote(String value) {
        String v = value.length() > 40 ? value.substring(0, 40) + "…" : value;
        return "\"" + v + "\"";
    }
}
