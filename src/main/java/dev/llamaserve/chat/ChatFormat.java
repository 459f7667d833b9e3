package dev.llamaserve.chat;

import dev.llamaserve.engine.InvalidRequestException;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

/**
 * The chat front door: raw request JSON in, a validated and injection-safely encoded prompt out.
 *
 * <pre>
 * ChatPrompt p = chat.prepare(new ChatInput(messages, tools, true, kwargs));
 * engine.submit(new GenerationRequest(id, p.tokenIds(), params, ParamNames.CHAT)); // validates, then queues
 * </pre>
 *
 * Every failure is an {@link InvalidRequestException} (HTTP 400).
 */
public final class ChatFormat {

    private static final Logger log = LoggerFactory.getLogger(ChatFormat.class);

    private final LlamaTokenizer tokenizer;
    private final ChatOptions options;
    private final ChatRequestParser parser;
    private final Llama31ChatTemplate template = new Llama31ChatTemplate();
    private final PromptEncoder encoder;
    private final boolean enabled;

    public ChatFormat(LlamaTokenizer tokenizer, ChatOptions options) {
        this.tokenizer = tokenizer;
        this.options = options;
        this.parser = new ChatRequestParser(options.maxMessages());
        this.encoder = new PromptEncoder(tokenizer);
        Optional<String> checkpointTemplate = tokenizer.chatTemplate();
        this.enabled = switch (options.enabled()) {
            case TRUE -> true;
            case FALSE -> false;
            case AUTO -> checkpointTemplate.isPresent();
        };
        if (checkpointTemplate.isEmpty()) {
            if (enabled) {
                log.warn("llm.chat.enabled=true but the checkpoint has no chat template: chat requests are rendered "
                        + "with the Llama 3.1 Instruct template anyway");
            } else {
                log.info("The checkpoint has no chat template (a base model): chat requests are answered with 400; "
                        + "set llm.chat.enabled=true to render the Llama 3.1 template anyway");
            }
        } else {
            Optional<String> difference = ChatTemplateCheck.difference(checkpointTemplate.get());
            if (difference.isPresent() && enabled) {
                log.warn("The checkpoint's chat_template is not the Llama 3.1 Instruct template that this server "
                        + "renders: {}. Chat prompts are rendered with the Llama 3.1 template regardless.", difference.get());
            }
            if (!enabled) {
                log.info("Chat is off (llm.chat.enabled=false): chat requests are answered with 400");
            }
        }
    }

    /** Whether chat requests are served (see {@code llm.chat.enabled}). */
    public boolean enabled() {
        return enabled;
    }

    public ChatOptions options() {
        return options;
    }

    /**
     * The one way into the prompt layer (chat completions, {@code /tokenize}, the Spring AI adapter): validates,
     * renders and encodes. The context-length rule is not checked here but by the engine's request validation
     * ({@code GenerationRequest.validate}), once for every caller.
     */
    public ChatPrompt prepare(ChatInput input) {
        return prepare(input, 0);
    }

    /**
     * As {@link #prepare(ChatInput)} for a request to be generated from: a prompt that proves longer than
     * {@code maxModelLen} allows from a part of its text is refused before the rest is encoded (the
     * context-length rule's error, "at least" so many tokens); {@code /tokenize}, which counts, takes the other.
     */
    public ChatPrompt prepare(ChatInput input, int maxModelLen) {
        if (!enabled) {
            throw new InvalidRequestException(null, InvalidRequestException.BASE_MODEL, "This model is a base model "
                    + "without a chat template, so it does not serve chat requests; send a plain prompt to "
                    + "/v1/completions instead (or set llm.chat.enabled=true)");
        }
        Conversation conversation = parser.parse(input.messages(), input.tools());
        TemplateArgs args = templateArgs(input.chatTemplateKwargs(), input.addGenerationPrompt());
        if (input.continueFinalMessage()) {
            args = args.continuingFinalMessage();
        }
        RenderedPrompt rendered = template.render(conversation, args);
        if (options.rejectSpecialTokens()) {
            rejectSpecialTokenText(rendered);
        }
        return new ChatPrompt(conversation, rendered.text(), encoder.encode(rendered, maxModelLen));
    }

    /** Parses {@code chat_template_kwargs} with this server's default date. */
    public TemplateArgs templateArgs(JsonNode chatTemplateKwargs, boolean addGenerationPrompt) {
        return TemplateArgs.parse(chatTemplateKwargs, addGenerationPrompt, options.dateString());
    }

    private void rejectSpecialTokenText(RenderedPrompt rendered) {
        for (RenderedPrompt.Segment s : rendered.segments()) {
            if (s.kind() != RenderedPrompt.Kind.REQUEST) {
                continue;
            }
            Optional<String> found = tokenizer.findSpecialTokenText(s.text());
            if (found.isPresent()) {
                throw new InvalidRequestException(s.param(), InvalidRequestException.SPECIAL_TOKEN_TEXT, s.param()
                        + " contains the special-token text " + found.get() + "; this server rejects special-token "
                        + "text in requests (llm.chat.reject-special-tokens=true)");
            }
        }
    }
}
