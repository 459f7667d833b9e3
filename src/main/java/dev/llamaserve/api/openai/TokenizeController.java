package dev.llamaserve.api.openai;

import static dev.llamaserve.api.openai.JsonFields.bool;
import static dev.llamaserve.api.openai.JsonFields.field;
import static dev.llamaserve.api.openai.JsonFields.string;
import static dev.llamaserve.api.openai.JsonFields.typeError;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.llamaserve.chat.ChatInput;
import dev.llamaserve.chat.PromptDryRun;
import dev.llamaserve.engine.InferenceEngine;
import java.util.List;
import org.springframework.context.annotation.Lazy;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;
import tools.jackson.databind.JsonNode;

/**
 * vLLM's dry-run endpoints, backed by {@link PromptDryRun}: {@code POST /tokenize} with a {@code prompt}
 * ({@code add_special_tokens}, default true, puts {@code <|begin_of_text|>} first) or with {@code messages}
 * (rendered exactly as a chat request would be; {@code add_generation_prompt} default true,
 * {@code continue_final_message} default false, {@code tools} (none shown under {@code tool_choice: "none"}),
 * {@code chat_template_kwargs}; the rendered text comes back as {@code prompt}), and
 * {@code POST /detokenize} ({@code tokens} to text, special tokens included).
 */
/* Lazy: PromptDryRun exists once the model is loaded; the lifecycle gate refuses this route until then. */
@Lazy
@RestController
public class TokenizeController {

    private final InferenceEngine engine;
    private final PromptDryRun dryRun;
    private final ServedModel served;
    private final ApiSettings settings;

    public TokenizeController(InferenceEngine engine, PromptDryRun dryRun, ServedModel served, ApiSettings settings) {
        this.engine = engine;
        this.dryRun = dryRun;
        this.served = served;
        this.settings = settings;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record TokenizeResponse(int count, int maxModelLen, int[] tokens, List<String> tokenStrs, String prompt) {}

    public record DetokenizeResponse(String prompt) {}

    @PostMapping("/tokenize")
    public Mono<Void> tokenize(ServerWebExchange exchange) {
        return JsonResponses.readBody(exchange.getRequest(), settings, this::tokenize)
                .flatMap(r -> JsonResponses.write(exchange.getResponse(), r));
    }

    @PostMapping("/detokenize")
    public Mono<Void> detokenize(ServerWebExchange exchange) {
        return JsonResponses.readBody(exchange.getRequest(), settings, body -> {
                    JsonNode root = ChatCompletionRequestParser.readObject(body);
                    checkModel(root);
                    return new DetokenizeResponse(dryRun.detokenize(tokenIds(field(root, "tokens"))));
                })
                .flatMap(r -> JsonResponses.write(exchange.getResponse(), r));
    }

    /** {@code /detokenize}'s {@code tokens}: an array of token ids, each read as the completions prompt's are. */
    private static int[] tokenIds(JsonNode tokens) {
        if (tokens == null) {
            throw ApiException.invalid("tokens", "missing_required_parameter", "'tokens' is required");
        }
        if (!tokens.isArray()) {
            throw typeError("tokens", "an array of token ids", tokens);
        }
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = JsonFields.tokenId(tokens.get(i), "tokens[" + i + "]");
        }
        return ids;
    }

    TokenizeResponse tokenize(byte[] body) {
        JsonNode root = ChatCompletionRequestParser.readObject(body);
        checkModel(root);
        int maxModelLen = engine.modelInfo().maxModelLen();
        if (field(root, "messages") != null) {
            PromptDryRun.TokenizeResult r = dryRun.tokenizeChat(new ChatInput(field(root, "messages"),
                    ChatCompletionRequestParser.toolsShown(root), ChatCompletionRequestParser.addGenerationPrompt(root),
                    ChatCompletionRequestParser.templateKwargs(root),
                    ChatCompletionRequestParser.continueFinalMessage(root)), maxModelLen);
            return new TokenizeResponse(r.count(), r.maxModelLen(), r.tokens(), tokenStrs(root, r.tokens()), r.prompt());
        }
        JsonNode prompt = field(root, "prompt");
        if (prompt == null) {
            throw ApiException.invalid("prompt", "missing_required_parameter", "'prompt' or 'messages' is required");
        }
        if (!prompt.isString()) {
            throw typeError("prompt", "a string", prompt);
        }
        Boolean addSpecial = bool(root, "add_special_tokens");
        PromptDryRun.TokenizeResult r = dryRun.tokenizePrompt(prompt.asString(), addSpecial == null || addSpecial,
                maxModelLen);
        return new TokenizeResponse(r.count(), r.maxModelLen(), r.tokens(), tokenStrs(root, r.tokens()), null);
    }

    /** vLLM's {@code return_token_strs}: each id as the vocabulary spells it, else none. */
    private List<String> tokenStrs(JsonNode root, int[] ids) {
        return Boolean.TRUE.equals(bool(root, "return_token_strs")) ? dryRun.tokenStrings(ids) : null;
    }

    private void checkModel(JsonNode root) {
        served.check(string(root, "model"), settings);
    }
}
