package dev.llamaserve.chat;

import static dev.llamaserve.engine.InvalidRequestException.INVALID_TYPE;
import static dev.llamaserve.engine.InvalidRequestException.INVALID_VALUE;

import dev.llamaserve.engine.InvalidRequestException;
import java.util.Objects;
import tools.jackson.databind.JsonNode;

/**
 * The template's variables besides messages and tools.
 *
 * @param addGenerationPrompt end with an open assistant header
 * @param dateString "Today Date" in the system header
 * @param dateFromRequest true when the date came from {@code chat_template_kwargs} (request text)
 * @param toolsInUserMessage the template's default true: tools go into the first user message;
 *     false: into the system message
 * @param continueFinalMessage the prompt ends inside the last message (no end of turn), as vLLM's
 *     {@code continue_final_message} and Hugging Face's {@code apply_chat_template} cut it
 */
public record TemplateArgs(boolean addGenerationPrompt, String dateString, boolean dateFromRequest,
        boolean toolsInUserMessage, boolean continueFinalMessage) {

    public TemplateArgs {
        Objects.requireNonNull(dateString, "dateString");
        if (addGenerationPrompt && continueFinalMessage) {
            throw new InvalidRequestException("continue_final_message", INVALID_VALUE, "'continue_final_message' "
                    + "and 'add_generation_prompt' cannot both be true (add_generation_prompt is true unless sent "
                    + "as false)");
        }
    }

    public TemplateArgs(boolean addGenerationPrompt, String dateString, boolean dateFromRequest,
            boolean toolsInUserMessage) {
        this(addGenerationPrompt, dateString, dateFromRequest, toolsInUserMessage, false);
    }

    /** These arguments with the prompt ending inside the last message. */
    public TemplateArgs continuingFinalMessage() {
        return new TemplateArgs(addGenerationPrompt, dateString, dateFromRequest, toolsInUserMessage, true);
    }

    public static TemplateArgs defaults(boolean addGenerationPrompt, String defaultDate) {
        return new TemplateArgs(addGenerationPrompt, defaultDate, false, true);
    }

    /**
     * Reads vLLM's {@code chat_template_kwargs}: {@code date_string} (a string) and
     * {@code tools_in_user_message} (a boolean) are honoured; {@code builtin_tools} and
     * {@code custom_tools} are refused (not supported); other keys are ignored, as vLLM ignores
     * variables the template does not use.
     */
    public static TemplateArgs parse(JsonNode kwargs, boolean addGenerationPrompt, String defaultDate) {
        if (kwargs == null || kwargs.isNull() || kwargs.isMissingNode()) {
            return defaults(addGenerationPrompt, defaultDate);
        }
        if (!kwargs.isObject()) {
            throw new InvalidRequestException("chat_template_kwargs", INVALID_TYPE,
                    "chat_template_kwargs must be an object; got " + ChatRequestParser.describe(kwargs));
        }
        String date = defaultDate;
        boolean fromRequest = false;
        JsonNode d = kwargs.get("date_string");
        if (d != null && !d.isNull()) {
            if (!d.isString()) {
                throw new InvalidRequestException("chat_template_kwargs.date_string", INVALID_TYPE,
                        "chat_template_kwargs.date_string must be a string such as \"26 Jul 2024\"; got "
                                + ChatRequestParser.describe(d));
            }
            date = d.stringValue();
            fromRequest = true;
        }
        boolean inUser = true;
        JsonNode t = kwargs.get("tools_in_user_message");
        if (t != null && !t.isNull()) {
            if (!t.isBoolean()) {
                throw new InvalidRequestException("chat_template_kwargs.tools_in_user_message", INVALID_TYPE,
                        "chat_template_kwargs.tools_in_user_message must be a boolean; got "
                                + ChatRequestParser.describe(t));
            }
            inUser = t.booleanValue();
        }
        for (String unsupported : new String[] {"builtin_tools", "custom_tools"}) {
            if (kwargs.has(unsupported)) {
                throw new InvalidRequestException("chat_template_kwargs." + unsupported, INVALID_VALUE,
                        "chat_template_kwargs." + unsupported + " is not supported by this server; pass tools in `tools`");
            }
        }
        return new TemplateArgs(addGenerationPrompt, date, fromRequest, inUser);
    }
}
