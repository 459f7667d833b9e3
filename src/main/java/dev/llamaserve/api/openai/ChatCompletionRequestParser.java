package dev.llamaserve.api.openai;

import static dev.llamaserve.api.openai.JsonFields.bool;
import static dev.llamaserve.api.openai.JsonFields.field;
import static dev.llamaserve.api.openai.JsonFields.integer;
import static dev.llamaserve.api.openai.JsonFields.number;
import static dev.llamaserve.api.openai.JsonFields.string;
import static dev.llamaserve.api.openai.JsonFields.typeError;

import dev.llamaserve.chat.ChatJson;
import dev.llamaserve.engine.SamplingParams;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * Parses a {@code POST /v1/chat/completions} body into {@link ChatCompletionParams}. Unknown fields
 * are ignored; a wrong type or a value out of range is a 400 naming the {@code param}; what is not
 * supported yet ({@code n} > 1, {@code tool_choice} required or a named function,
 * {@code response_format} other than text) is a 400 too, never silently ignored.
 */
public final class ChatCompletionRequestParser {

    private final int vocabSize;

    /** @param vocabSize token ids in {@code logit_bias} must be below it */
    public ChatCompletionRequestParser(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    public ChatCompletionParams parse(byte[] body) {
        JsonNode root = readObject(body);
        return parse(root, forChatLayer(body));
    }

    /** The body as one JSON object (exact numbers), or a 400 {@code invalid_json}. */
    static JsonNode readObject(byte[] body) {
        JsonNode root;
        try {
            root = OpenAiJson.MAPPER.readTree(body);
        } catch (JacksonException e) {
            throw ApiException.invalid(null, "invalid_json", "Request body is not valid JSON: "
                    + firstLine(e.getOriginalMessage()));
        } catch (NumberFormatException | ArithmeticException e) {
            // e.g. 1e999999999999: the exponent does not fit a BigDecimal
            throw ApiException.invalid(null, "invalid_json", "Request body has a number out of range");
        }
        if (root == null || !root.isObject()) {
            throw ApiException.invalid(null, "invalid_json", "Request body must be a JSON object");
        }
        return root;
    }

    /**
     * The body read again as the chat layer reads JSON ({@link ChatJson}: floats as doubles), for the
     * nodes handed to it ({@code messages}, {@code tools}): the template renders numbers the way Python's
     * {@code json.dumps} does, which needs the double ({@code -0.0} keeps its sign, {@code 1e+16} stays a
     * float). Called only after {@link OpenAiJson#MAPPER} accepted the body, so its limits (number length,
     * nesting) have been applied and its huge-number 400s stand.
     */
    static JsonNode forChatLayer(byte[] body) {
        try {
            return ChatJson.MAPPER.readTree(body);
        } catch (JacksonException | NumberFormatException | ArithmeticException e) {
            throw ApiException.invalid(null, "invalid_json", "Request body has a number out of range");
        }
    }

    public ChatCompletionParams parse(JsonNode root) {
        return parse(root, root);
    }

    /**
     * @param root the body as the API reads it (exact numbers)
     * @param chatRoot the same body read with {@link ChatJson} ({@code messages} and {@code tools} come from it)
     */
    ChatCompletionParams parse(JsonNode root, JsonNode chatRoot) {
        String model = string(root, "model");

        JsonNode messages = field(chatRoot, "messages");
        if (messages == null) {
            throw ApiException.invalid("messages", "missing_required_parameter", "'messages' is required");
        }
        if (!messages.isArray()) {
            throw typeError("messages", "an array", messages);
        }
        if (messages.isEmpty()) {
            throw ApiException.invalid("messages", "invalid_value", "'messages' must not be empty");
        }

        Long n = integer(root, "n", 1, 128);
        if (n != null && n > 1) {
            throw ApiException.invalid("n", "unsupported_value", "'n' > 1 is not supported yet, got " + n);
        }
        JsonNode tools = tools(chatRoot);
        boolean toolChoiceNone = toolChoiceIsNone(root);
        responseFormat(root);

        boolean stream = Boolean.TRUE.equals(bool(root, "stream"));
        boolean includeUsage = streamOptions(root, stream);

        boolean logprobs = Boolean.TRUE.equals(bool(root, "logprobs"));
        Long topLogprobs = integer(root, "top_logprobs", 0, SamplingParams.MAX_TOP_LOGPROBS);
        if (topLogprobs != null && topLogprobs > 0 && !logprobs) {
            throw ApiException.invalid("top_logprobs", "invalid_value",
                    "'top_logprobs' requires 'logprobs' to be true");
        }
        boolean tokenIds = Boolean.TRUE.equals(bool(root, "return_tokens_as_token_ids"));

        JsonNode kwargs = field(chatRoot, "chat_template_kwargs");
        if (kwargs != null && !kwargs.isObject()) {
            throw typeError("chat_template_kwargs", "an object", kwargs);
        }

        SamplingParams sampling = sampling(root, logprobs ? (topLogprobs == null ? 0 : topLogprobs.intValue()) : null);
        return new ChatCompletionParams(model, messages, toolChoiceNone ? null : tools, kwargs, stream,
                includeUsage, logprobs, topLogprobs == null ? 0 : topLogprobs.intValue(), tokenIds, sampling);
    }

    SamplingParams sampling(JsonNode root, Integer logprobs) {
        SamplingParams.Builder b = SamplingParams.builder();
        b.temperature(number(root, "temperature", 0, true, 2, true));
        b.topP(number(root, "top_p", 0, false, 1, true));
        Long topK = integer(root, "top_k", -1, Integer.MAX_VALUE);
        b.topK(topK == null ? null : topK.intValue());
        b.minP(number(root, "min_p", 0, true, 1, true));
        b.seed(integer(root, "seed", Long.MIN_VALUE, Long.MAX_VALUE));
        Double presence = number(root, "presence_penalty", -2, true, 2, true);
        b.presencePenalty(presence == null ? 0 : presence);
        Double frequency = number(root, "frequency_penalty", -2, true, 2, true);
        b.frequencyPenalty(frequency == null ? 0 : frequency);
        Double repetition = number(root, "repetition_penalty", 0, false, 100, true);
        b.repetitionPenalty(repetition == null ? 1.0 : repetition);
        b.logitBias(logitBias(root));

        Long maxTokens = integer(root, "max_tokens", 1, Integer.MAX_VALUE);
        Long maxCompletionTokens = integer(root, "max_completion_tokens", 1, Integer.MAX_VALUE);
        Long max = maxCompletionTokens != null ? maxCompletionTokens : maxTokens;
        b.maxTokens(max == null ? null : max.intValue());
        Long minTokens = integer(root, "min_tokens", 0, Integer.MAX_VALUE);
        if (minTokens != null && max != null && minTokens > max) {
            throw ApiException.invalid("min_tokens", "invalid_value", "'min_tokens' (" + minTokens
                    + ") must not exceed 'max_tokens' (" + max + ")");
        }
        b.minTokens(minTokens == null ? 0 : minTokens.intValue());
        b.ignoreEos(Boolean.TRUE.equals(bool(root, "ignore_eos")));
        b.stop(stop(root));
        b.stopTokenIds(stopTokenIds(root));
        b.logprobs(logprobs);
        return b.build();
    }

    private Map<Integer, Double> logitBias(JsonNode root) {
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
            if (id < 0 || id >= vocabSize) {
                throw ApiException.invalid("logit_bias", "invalid_value", "'logit_bias' token id must be in [0, "
                        + vocabSize + "), got " + id);
            }
            out.put(id, JsonFields.checkNumber(e.getValue(), "logit_bias", -100, true, 100, true));
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
            if (stop.size() > SamplingParams.MAX_STOP_STRINGS) {
                throw ApiException.invalid("stop", "invalid_value", "'stop' allows at most "
                        + SamplingParams.MAX_STOP_STRINGS + " strings, got " + stop.size());
            }
            for (JsonNode s : stop) {
                if (!s.isString()) {
                    throw typeError("stop", "a string or an array of strings", s);
                }
                out.add(s.asString());
            }
        } else {
            throw typeError("stop", "a string or an array of strings", stop);
        }
        for (String s : out) {
            if (s.isEmpty()) {
                throw ApiException.invalid("stop", "invalid_value", "'stop' strings must not be empty");
            }
        }
        return out;
    }

    private Set<Integer> stopTokenIds(JsonNode root) {
        JsonNode ids = field(root, "stop_token_ids");
        if (ids == null) {
            return Set.of();
        }
        if (!ids.isArray()) {
            throw typeError("stop_token_ids", "an array of integers", ids);
        }
        Set<Integer> out = new LinkedHashSet<>();
        for (JsonNode id : ids) {
            out.add((int) JsonFields.checkInteger(id, "stop_token_ids", 0, vocabSize - 1L));
        }
        return out;
    }

    private static JsonNode tools(JsonNode root) {
        JsonNode tools = field(root, "tools");
        if (tools == null) {
            return null;
        }
        if (!tools.isArray()) {
            throw typeError("tools", "an array", tools);
        }
        for (JsonNode tool : tools) {
            if (!tool.isObject()) {
                throw typeError("tools", "an array of objects", tool);
            }
        }
        return tools;
    }

    /** True for "none"; "auto" (or absent) is false; "required" and named functions are not supported. */
    private static boolean toolChoiceIsNone(JsonNode root) {
        JsonNode choice = field(root, "tool_choice");
        if (choice == null) {
            return false;
        }
        if (choice.isString()) {
            return switch (choice.asString()) {
                case "none" -> true;
                case "auto" -> false;
                case "required" -> throw ApiException.invalid("tool_choice", "unsupported_value",
                        "'tool_choice' \"required\" is not supported yet; use \"auto\" or \"none\"");
                default -> throw ApiException.invalid("tool_choice", "invalid_value",
                        "'tool_choice' must be \"none\", \"auto\", \"required\" or a named function, got "
                                + quote(choice.asString()));
            };
        }
        if (choice.isObject()) {
            throw ApiException.invalid("tool_choice", "unsupported_value",
                    "'tool_choice' naming a function is not supported yet; use \"auto\" or \"none\"");
        }
        throw typeError("tool_choice", "a string or an object", choice);
    }

    private static void responseFormat(JsonNode root) {
        JsonNode format = field(root, "response_format");
        if (format == null) {
            return;
        }
        if (!format.isObject()) {
            throw typeError("response_format", "an object", format);
        }
        String type = string(format, "type");
        if (type == null) {
            throw ApiException.invalid("response_format", "missing_required_parameter",
                    "'response_format.type' is required");
        }
        if (!type.equals("text")) {
            throw ApiException.invalid("response_format", "unsupported_value", "'response_format' type "
                    + quote(type) + " is not supported yet; only \"text\"");
        }
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

    private static String firstLine(String s) {
        if (s == null) {
            return "parse error";
        }
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return line.length() > 200 ? line.substring(0, 200) : line;
    }
}
