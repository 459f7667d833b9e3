package dev.llamaserve.chat;

import tools.jackson.databind.JsonNode;

/**
 * One validated message of a conversation, in the shapes the Llama 3.1 template distinguishes.
 * {@code index} is the message's position in the request's {@code messages} array (for errors).
 */
public sealed interface ChatMessage {

    int index();

    /**
     * A role's message with its article, for errors: "a user message", "an assistant message", "an ipython message"
     * (the request's roles too: system, developer, user, assistant, tool, ipython).
     */
    static String aMessageOf(String role) {
        return (role.startsWith("a") || role.startsWith("i") ? "an " : "a ") + role + " message";
    }

    /** The role as the template names it in a header: system, user or assistant. */
    enum Role {
        SYSTEM("system"), USER("user"), ASSISTANT("assistant");

        private final String header;

        Role(String header) {
            this.header = header;
        }

        public String header() {
            return header;
        }
    }

    /**
     * A system (or OpenAI {@code developer}), user or assistant message with text content (text
     * parts already joined with "\n"; not yet trimmed: the template trims).
     */
    record Text(int index, Role role, String content) implements ChatMessage {
        @Override
        public String toString() {
            return "Text[index=" + index + ", role=" + role + ", chars=" + content.length() + "]";
        }
    }

    /**
     * One tool call of an assistant message: Llama 3.1's template renders one call per assistant turn, so a
     * message with several calls becomes several of these ({@link ChatRequestParser} pairs each with its result).
     *
     * @param call its position in the message's {@code tool_calls}
     * @param id the call id from the request, or null
     * @param name the function name
     * @param arguments the arguments as JSON (parsed from the OpenAI string form)
     */
    record ToolCall(int index, int call, String id, String name, JsonNode arguments) implements ChatMessage {
        @Override
        public String toString() {
            return "ToolCall[index=" + index + ", call=" + call + ", name=" + name + "]";
        }
    }

    /** A {@code tool} or {@code ipython} message: the result of the preceding tool call. */
    record ToolResult(int index, String toolCallId, String content) implements ChatMessage {
        @Override
        public String toString() {
            return "ToolResult[index=" + index + ", chars=" + content.length() + "]";
        }
    }
}
