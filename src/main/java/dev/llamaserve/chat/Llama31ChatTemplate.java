package dev.llamaserve.chat;

import static dev.llamaserve.chat.SpecialTokens.BEGIN_OF_TEXT;
import static dev.llamaserve.chat.SpecialTokens.END_HEADER;
import static dev.llamaserve.chat.SpecialTokens.END_OF_TURN;
import static dev.llamaserve.chat.SpecialTokens.START_HEADER;

import dev.llamaserve.chat.RenderedPrompt.Kind;
import dev.llamaserve.chat.RenderedPrompt.Segment;
import dev.llamaserve.engine.InvalidRequestException;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * The official Llama 3.1 Instruct chat template (also Llama 3.3's), rendered in Java to the exact
 * text transformers renders from the Jinja source (bundled as {@code llama-3.1-chat-template.jinja}).
 * Covers custom tools (in the first user message by default, or in the system message), one tool
 * call per assistant message, tool results and the generation prompt; not {@code builtin_tools}.
 */
public final class Llama31ChatTemplate {

    static final String TOOL_PREAMBLE_FORMAT = "Respond in the format {\"name\": function name, \"parameters\": "
            + "dictionary of argument name and its value}.Do not use variables.\n\n";

    /** What an error about the first user message tells a client to do instead. */
    private static final String SYSTEM_LAYOUT = "To put the tool list into the system message instead, send "
            + "\"chat_template_kwargs\": {\"tools_in_user_message\": false}";

    private static String afterSystem(ChatMessage.Text system) {
        return system == null ? "(there is no system message)" : "after the system message";
    }

    private static String describe(ChatMessage m) {
        if (m instanceof ChatMessage.Text t) {
            return ChatMessage.aMessageOf(t.role().header());
        }
        return m instanceof ChatMessage.ToolCall ? "an assistant's tool call" : "a tool result";
    }

    public RenderedPrompt render(Conversation conversation, TemplateArgs args) {
        Builder out = new Builder();
        List<ChatMessage> messages = new ArrayList<>(conversation.messages());
        boolean tools = conversation.hasTools();

        ChatMessage.Text system = null;
        if (!messages.isEmpty() && messages.get(0) instanceof ChatMessage.Text t && t.role() == ChatMessage.Role.SYSTEM) {
            system = t;
            messages.remove(0);
        }

        out.special(BEGIN_OF_TEXT);
        header(out, "system");
        if (tools) {
            out.template("Environment: ipython\n");
        }
        out.template("Cutting Knowledge Date: December 2023\n");
        out.template("Today Date: ");
        if (args.dateFromRequest()) {
            out.request(args.dateString(), "chat_template_kwargs.date_string");
        } else {
            out.template(args.dateString());
        }
        out.template("\n\n");
        if (tools && !args.toolsInUserMessage()) {
            out.template("You have access to the following functions. To call a function, please respond with JSON "
                    + "for a function call.");
            out.template(TOOL_PREAMBLE_FORMAT);
            toolList(out, conversation);
        }
        if (system != null) {
            out.request(PyText.strip(system.content()), "messages[" + system.index() + "].content");
        }
        out.special(END_OF_TURN);

        if (tools && args.toolsInUserMessage()) {
            if (messages.isEmpty()) {
                throw new InvalidRequestException("messages", InvalidRequestException.INVALID_VALUE,
                        "with tools, the conversation needs a user message " + afterSystem(system)
                                + " (the template puts the tool list into it); there is none. " + SYSTEM_LAYOUT);
            }
            ChatMessage first = messages.remove(0);
            // the reference takes messages[0]'s content whatever its role (an assistant's greeting, a second system
            // message: what a chat memory that dropped the oldest turns sends), as vLLM renders it; a tool call or
            // result has no content to take (the reference would write "None")
            if (!(first instanceof ChatMessage.Text t)) {
                throw new InvalidRequestException("messages[" + first.index() + "].role",
                        InvalidRequestException.INVALID_VALUE, "with tools, the first message " + afterSystem(system)
                                + " must have text content (the template puts the tool list into it and writes it as"
                                + " the user's); messages[" + first.index() + "] is " + describe(first) + ". "
                                + SYSTEM_LAYOUT);
            }
            header(out, "user");
            out.template("Given the following functions, please respond with a JSON for a function call ");
            out.template("with its proper arguments that best answers the given prompt.\n\n");
            out.template(TOOL_PREAMBLE_FORMAT);
            toolList(out, conversation);
            out.request(PyText.strip(t.content()), "messages[" + t.index() + "].content");
            out.special(END_OF_TURN);
        }

        ChatMessage last = messages.isEmpty() ? null : messages.get(messages.size() - 1);
        if (args.continueFinalMessage() && !(last instanceof ChatMessage.Text t && t.role() == ChatMessage.Role.ASSISTANT)) {
            throw new InvalidRequestException("continue_final_message", InvalidRequestException.INVALID_VALUE,
                    "'continue_final_message' continues the last message, which must be an assistant's text; "
                            + (last == null ? "there is none after the system message" : "messages["
                                    + last.index() + "] is " + describe(last)));
        }
        for (ChatMessage m : messages) {
            if (m == last && args.continueFinalMessage()) {
                // the prompt ends inside this message: the model goes on writing it (no end of turn)
                header(out, "assistant");
                out.request(PyText.strip(((ChatMessage.Text) m).content()), "messages[" + m.index() + "].content");
                break;
            }
            if (m instanceof ChatMessage.Text t) {
                header(out, t.role().header());
                out.request(PyText.strip(t.content()), "messages[" + t.index() + "].content");
            } else if (m instanceof ChatMessage.ToolCall c) {
                String at = "messages[" + c.index() + "].tool_calls[" + c.call() + "].function";
                header(out, "assistant");
                out.template("{\"name\": \"");
                out.request(c.name(), at + ".name");
                out.template("\", ");
                out.template("\"parameters\": ");
                out.request(PyJson.dumps(c.arguments()), at + ".arguments");
                out.template("}");
            } else if (m instanceof ChatMessage.ToolResult r) {
                header(out, "ipython");
                // the template sends a string through tojson (a string is iterable in Jinja)
                out.request(PyJson.dumpsString(r.content()), "messages[" + r.index() + "].content");
            }
            out.special(END_OF_TURN);
        }
        if (args.addGenerationPrompt()) {
            header(out, "assistant");
        }
        return new RenderedPrompt(out.segments);
    }

    private static void header(Builder out, String role) {
        out.special(START_HEADER);
        out.template(role);
        out.special(END_HEADER);
        out.template("\n\n");
    }

    private static void toolList(Builder out, Conversation conversation) {
        for (int i = 0; i < conversation.tools().size(); i++) {
            JsonNode tool = conversation.tools().get(i);
            out.request(PyJson.dumps(tool, 4), "tools[" + i + "]");
            out.template("\n\n");
        }
    }

    private static final class Builder {
        final List<Segment> segments = new ArrayList<>();

        void special(String text) {
            segments.add(new Segment(Kind.SPECIAL, text, null));
        }

        void template(String text) {
            if (!text.isEmpty()) {
                segments.add(new Segment(Kind.TEMPLATE, text, null));
            }
        }

        void request(String text, String param) {
            if (!text.isEmpty()) {
                segments.add(new Segment(Kind.REQUEST, text, param));
            }
        }
    }
}
