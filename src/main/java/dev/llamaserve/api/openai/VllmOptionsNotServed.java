package dev.llamaserve.api.openai;

import static dev.llamaserve.api.openai.JsonFields.bool;
import static dev.llamaserve.api.openai.JsonFields.field;

import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * vLLM's request options that change the output and that this server does not apply. Unknown fields are otherwise
 * ignored, so a client sending one (through the OpenAI SDKs' {@code extra_body}) would get an answer made without
 * it; set to anything but vLLM's default, each is a 400 {@code unsupported_value} naming it instead. Both completion
 * endpoints ask here; chat's {@code echo} and {@code chat_template} are chat's only (legacy completions refuse their
 * own {@code echo}).
 */
final class VllmOptionsNotServed {

    /** vLLM's guided decoding, old and new names: this server enforces OpenAI's {@code response_format}. */
    private static final List<String> GUIDED = List.of("guided_json", "guided_regex", "guided_choice",
            "guided_grammar", "structured_outputs");
    /** Options whose default is absent (null). */
    private static final List<String> ABSENT_BY_DEFAULT = List.of("allowed_token_ids", "logits_processors",
            "prompt_logprobs", "truncate_prompt_tokens");

    private VllmOptionsNotServed() {}

    static void refuse(JsonNode root, boolean chat) {
        for (String name : GUIDED) {
            if (field(root, name) != null) {   // JSON null reads as absent
                throw unsupported(name, "send 'response_format' ({\"type\": \"json_schema\", ...} or"
                        + " {\"type\": \"json_object\"}), which this server enforces");
            }
        }
        for (String name : ABSENT_BY_DEFAULT) {
            if (field(root, name) != null) {
                throw unsupported(name, "this server does not apply it");
            }
        }
        JsonNode badWords = field(root, "bad_words");
        if (badWords != null && !(badWords.isArray() && badWords.isEmpty())) {
            throw unsupported("bad_words", "this server does not apply it");
        }
        refuseUnless(root, "include_stop_str_in_output", false, "stop strings are never part of the output");
        refuseUnless(root, "use_beam_search", false, "this server samples, it does not search beams");
        refuseUnless(root, "skip_special_tokens", true, "special tokens are never part of the output");
        if (chat) {
            refuseUnless(root, "echo", false, "the answer never repeats the prompt");
            if (field(root, "chat_template") != null) {
                throw unsupported("chat_template", "chat prompts are rendered with the Llama 3.1 template");
            }
        }
    }

    private static void refuseUnless(JsonNode root, String name, boolean servedValue, String why) {
        Boolean value = bool(root, name);
        if (value != null && value != servedValue) {
            throw unsupported(name, why);
        }
    }

    private static ApiException unsupported(String name, String why) {
        return ApiException.invalid(name, "unsupported_value", "'" + name + "' (a vLLM option) is not supported: "
                + why);
    }
}
