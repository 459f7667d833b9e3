package dev.llamaserve.api.openai;

import static dev.llamaserve.api.openai.JsonFields.bool;
import static dev.llamaserve.api.openai.JsonFields.field;
import static dev.llamaserve.api.openai.JsonFields.int32;
import static dev.llamaserve.api.openai.JsonFields.integer;
import static dev.llamaserve.api.openai.JsonFields.number;
import static dev.llamaserve.api.openai.JsonFields.string;
import static dev.llamaserve.api.openai.JsonFields.typeError;

import dev.llamaserve.chat.ChatRequestParser;
import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.OutputConstraint;
import dev.llamaserve.engine.SamplingParams;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.core.exc.StreamConstraintsException;
import tools.jackson.databind.JsonNode;

/**
 * Parses a {@code POST /v1/chat/completions} body into {@link ChatCompletionParams}. Unknown fields
 * are ignored; a wrong type is a 400 naming the {@code param}; what is not supported (the deprecated
 * {@code functions} and {@code function_call}) is a 400 too, never silently ignored. {@code response_format} and {@code tool_choice} required/named become the
 * sampling's output constraint ({@link ConstraintParser}). Ranges and the context length are not checked here but once, by the engine's
 * request validation ({@code GenerationRequest.validate}).
 */
public final class ChatCompletionRequestParser {

    public ChatCompletionParams parse(byte[] body) {
        return parse(readObject(body));
    }

    /**
     * The body as one JSON object, read once for every use: numbers the way the chat template needs them
     * (floats as doubles, so {@code -0.0} keeps its sign and {@code 1e+16} stays a float; integers of any size
     * exactly) within {@link OpenAiJson}'s limits; or a 400 {@code invalid_json}.
     */
    static JsonNode readObject(byte[] body) {
        JsonNode root;
        try {
            root = OpenAiJson.READER.readTree(body);
        } catch (StreamConstraintsException e) {
            throw ApiException.invalid(null, "invalid_json", "Request body is beyond this server's JSON limits ("
                    + OpenAiJson.MAX_NESTING_DEPTH + " levels of nesting, numbers of " + OpenAiJson.MAX_NUMBER_LENGTH
                    + " digits)");
        } catch (JacksonException e) {
            throw ApiException.invalid(null, "invalid_json", "Request body is not valid JSON: "
                    + parseError(e.getOriginalMessage()));
        } catch (NumberFormatException | ArithmeticException e) {
            throw ApiException.invalid(null, "invalid_json", "Request body has a number out of range");
        }
        if (root == null || !root.isObject()) {
            throw ApiException.invalid(null, "invalid_json", "Request body must be a JSON object");
        }
        return root;
    }

    public ChatCompletionParams parse(JsonNode root) {
        String model = string(root, "model");

        JsonNode messages = field(root, "messages");
        ChatRequestParser.requireMessages(messages);

        for (String legacy : List.of("functions", "function_call")) {   // else answered as if no function were given
            JsonNode f = field(root, legacy);
            if (f != null && !f.isNull()) {
                throw ApiException.invalid(legacy, "unsupported_value", "'" + legacy + "' (deprecated by OpenAI) is"
                        + " not supported: send 'tools' and 'tool_choice' instead");
            }
        }
        refuseOutputsNotServed(root);
        VllmOptionsNotServed.refuse(root, true);
        JsonNode tools = tools(root);
        boolean toolChoiceNone = toolChoiceIsNone(root);
        OutputConstraint constraint = ConstraintParser.chat(root, tools, toolChoiceNone);

        boolean stream = Boolean.TRUE.equals(bool(root, "stream"));
        boolean includeUsage = streamOptions(root, stream);

        boolean logprobs = Boolean.TRUE.equals(bool(root, "logprobs"));
        Integer topLogprobs = int32(root, "top_logprobs");
        if (topLogprobs != null && topLogprobs != 0 && !logprobs) {
            throw ApiException.invalid("top_logprobs", "invalid_value",
                    "'top_logprobs' requires 'logprobs' to be true");
        }
        boolean tokenIds = Boolean.TRUE.equals(bool(root, "return_tokens_as_token_ids"));

        JsonNode kwargs = templateKwargs(root);

        SamplingParams.Builder b = sampling(root, logprobs ? (topLogprobs == null ? 0 : topLogprobs) : null)
                .toBuilder().constraint(constraint);
        // OpenAI's newer name wins over max_tokens (legacy completions have only max_tokens)
        Integer maxCompletionTokens = int32(root, "max_completion_tokens");
        if (maxCompletionTokens != null) {
            b.maxTokens(maxCompletionTokens);
        }
        SamplingParams sampling = b.build();
        GenerationRequest.ParamNames names = maxCompletionTokens != null
                ? GenerationRequest.ParamNames.CHAT.withMaxTokens("max_completion_tokens")
                : GenerationRequest.ParamNames.CHAT;
        return new ChatCompletionParams(model, messages, toolsShown(tools, toolChoiceNone),
                ConstraintParser.parallel(root),
                kwargs, addGenerationPrompt(root), continueFinalMessage(root), stream, includeUsage, logprobs,
                topLogprobs == null ? 0 : topLogprobs, tokenIds, sampling, names);
    }

    /** vLLM's {@code add_generation_prompt}, true unless sent as false (chat and {@code /tokenize} alike). */
    static boolean addGenerationPrompt(JsonNode root) {
        return !Boolean.FALSE.equals(bool(root, "add_generation_prompt"));
    }

    /** vLLM's {@code continue_final_message}, false unless sent as true (chat and {@code /tokenize} alike). */
    static boolean continueFinalMessage(JsonNode root) {
        return Boolean.TRUE.equals(bool(root, "continue_final_message"));
    }

    /**
     * Outputs this server cannot give are refused, as media inputs are, never answered without them: audio
     * ({@code modalities} other than text, {@code audio}), web search ({@code web_search_options}) and moderation
     * ({@code moderation}: a safety control the caller would believe applied). Fields that
     * change no output ({@code store}, {@code metadata}, {@code user}, {@code service_tier}, ...) are ignored.
     */
    private static void refuseOutputsNotServed(JsonNode root) {
        JsonNode modalities = field(root, "modalities");
        if (modalities != null && !modalities.isNull()) {
            if (!modalities.isArray()) {
                throw typeError("modalities", "an array of strings", modalities);
            }
            for (JsonNode m : modalities) {
                if (!m.isString() || !m.asString().equals("text")) {
                    throw ApiException.invalid("modalities", "unsupported_value", "'modalities' may only hold \"text\":"
                            + " this model writes text, got " + m);
                }
            }
        }
        for (String output : List.of("audio", "web_search_options", "moderation")) {
            JsonNode f = field(root, output);
            if (f != null && !f.isNull()) {
                String why = switch (output) {
                    case "audio" -> "this model writes text only";
                    case "web_search_options" -> "this model writes text only, without searching the web";
                    default -> "this server runs no moderation model on the input or the output";
                };
                throw ApiException.invalid(output, "unsupported_value", "'" + output + "' is not supported: " + why);
            }
        }
    }

    /** The sampling fields both completion endpoints share, as given (types checked, ranges not). */
    static SamplingParams sampling(JsonNode root, Integer logprobs) {
        SamplingParams.Builder b = SamplingParams.builder();
        b.temperature(number(root, "temperature"));
        b.topP(number(root, "top_p"));
        b.topK(int32(root, "top_k"));
        b.minP(number(root, "min_p"));
        b.seed(integer(root, "seed", Long.MIN_VALUE, Long.MAX_VALUE));
        Double presence = number(root, "presence_penalty");
        b.presencePenalty(presence == null ? 0 : presence);
        Double frequency = number(root, "frequency_penalty");
        b.frequencyPenalty(frequency == null ? 0 : frequency);
        b.repetitionPenalty(number(root, "repetition_penalty"));   // null: the model's default
        b.logitBias(logitBias(root));
        b.maxTokens(int32(root, "max_tokens"));   // chat's max_completion_tokens, which wins: parse()
        Integer minTokens = int32(root, "min_tokens");
        b.minTokens(minTokens == null ? 0 : minTokens);
        b.ignoreEos(Boolean.TRUE.equals(bool(root, "ignore_eos")));
        b.stop(stop(root));
        b.stopTokenIds(stopTokenIds(root));
        b.logprobs(logprobs);
        b.n(int32(root, "n")); // range (1..16): RequestRules
        return b.build();
    }

    private static Map<Integer, Double> logitBias(JsonNode root) {
        JsonNode bias = field(root, "logit_bias");
        if (bias == null) {
            return Map.of();
        }
        if (!bias.isObject()) {
            throw typeError("logit_bias", "an object", bias);
        }
        Map<Integer, Double> out = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : bias.properties()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey().strip());
            } catch (NumberFormatException ex) {
                throw ApiException.invalid("logit_bias", "invalid_value", "'logit_bias' keys must be token ids, got "
                        + quote(e.getKey()));
            }
            out.put(id, JsonFields.checkNumber(e.getValue(), "logit_bias"));
        }
        return out;
    }

    private static List<String> stop(JsonNode root) {
        JsonNode stop = field(root, "stop");
        if (stop == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (stop.isString()) {
            out.add(stop.asString());
        } else if (stop.isArray()) {
            for (JsonNode s : stop) {
                if (!s.isString()) {
                    throw typeError("stop", "a string or an array of strings", s);
                }
                out.add(s.asString());
            }
        } else {
            throw typeError("stop", "a string or an array of strings", stop);
        }
        return out;
    }

    private static Set<Integer> stopTokenIds(JsonNode root) {
        JsonNode ids = field(root, "stop_token_ids");
        if (ids == null) {
            return Set.of();
        }
        if (!ids.isArray()) {
            throw typeError("stop_token_ids", "an array of integers", ids);
        }
        Set<Integer> out = new LinkedHashSet<>();
        for (JsonNode id : ids) {
            out.add((int) JsonFields.checkInteger(id, "stop_token_ids", Integer.MIN_VALUE, Integer.MAX_VALUE));
        }
        return out;
    }

    /**
     * The tools the model is shown (chat and {@code /tokenize} alike): the request's, checked, unless
     * {@code tool_choice} is "none", which keeps them out of the prompt.
     */
    static JsonNode toolsShown(JsonNode root) {
        return toolsShown(tools(root), toolChoiceIsNone(root));
    }

    private static JsonNode toolsShown(JsonNode tools, boolean toolChoiceNone) {
        return toolChoiceNone ? null : tools;
    }

    /** {@code chat_template_kwargs}: an object, or null (chat and {@code /tokenize} alike). */
    static JsonNode templateKwargs(JsonNode root) {
        JsonNode kwargs = field(root, "chat_template_kwargs");
        if (kwargs != null && !kwargs.isObject()) {
            throw typeError("chat_template_kwargs", "an object", kwargs);
        }
        return kwargs;
    }

    private static JsonNode tools(JsonNode root) {
        JsonNode tools = field(root, "tools");
        if (tools == null) {
            return null;
        }
        ChatRequestParser.parseTools(tools);   // every tool checked, its calls constrained or not
        return tools;
    }

    /** True for "none" (types and values are checked by {@link ConstraintParser#toolChoice}). */
    private static boolean toolChoiceIsNone(JsonNode root) {
        JsonNode choice = field(root, "tool_choice");
        return choice != null && choice.isString() && choice.asString().equals("none");
    }

    static boolean streamOptions(JsonNode root, boolean stream) {
        JsonNode options = field(root, "stream_options");
        if (options == null) {
            return false;
        }
        if (!options.isObject()) {
            throw typeError("stream_options", "an object", options);
        }
        if (!stream) {
            throw ApiException.invalid("stream_options", "invalid_value",
                    "'stream_options' is only allowed when 'stream' is true");
        }
        JsonNode usage = field(options, "include_usage");
        if (usage != null && !usage.isBoolean()) {
            throw typeError("stream_options.include_usage", "a boolean", usage);
        }
        return usage != null && usage.booleanValue();
    }

    private static String quote(String s) {
        String t = s.length() > 40 ? s.substring(0, 37) + "..." : s;
        return "\"" + t + "\"";
    }

    /**
     * The parser's message as a client may read it: its first line, without the parser's location ({@code [Source:
     * ...]}) and without its hints, which name the parser's own classes and settings ({@code `JsonReadFeature...`}),
     * none of which the client can change.
     */
    static String parseError(String s) {
        if (s == null) {
            return "parse error";
        }
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        int source = line.indexOf("[Source:");
        if (source >= 0) {
            line = line.substring(0, source).strip();
            if (line.endsWith(" at")) {
                line = line.substring(0, line.length() - 3);
            }
            if (line.chars().filter(c -> c == '(').count() > line.chars().filter(c -> c == ')').count()) {
                line = line.substring(0, line.lastIndexOf('('));   // "(start marker at [Source: ...]": the location
            }
        }
        line = line.replaceAll("\\s*\\([^()]*`[^()]*\\)", "")   // "(... `StreamReadFeature.X` ...)"
                .replaceAll("[;:,]?[^;:,`]*`[^`]*`[^;:,]*", "")      // "; enable `JsonReadFeature.X` to allow"
                .strip();
        if (line.endsWith(" at") || line.endsWith(":")) {
            line = line.substring(0, line.lastIndexOf(line.endsWith(":") ? ":" : " at")).strip();
        }
        return line.isEmpty() ? "parse error" : line.length() > 200 ? line.substring(0, 200) : line;
    }
}
