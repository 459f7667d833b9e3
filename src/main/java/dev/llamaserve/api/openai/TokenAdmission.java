package dev.llamaserve.api.openai;

import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InferenceEngine;
import org.springframework.web.server.ServerWebExchange;

/**
 * The port through which a generation endpoint, once it knows the prompt's token count, asks whether the
 * caller may spend that many tokens (implemented in {@code ops}, wired in {@code config}).
 */
@FunctionalInterface
public interface TokenAdmission {

    /** Admits everything. */
    TokenAdmission OPEN = (exchange, tokens) -> {};

    /**
     * Charges {@code tokens} (prompt tokens plus the most the request may generate, as OpenAI counts them)
     * to the exchange's caller, or throws the {@link ApiException} (429) that refuses the request.
     */
    void admit(ServerWebExchange exchange, long tokens);

    /**
     * The admission of a generation request, in one order for every endpoint: what the engine would refuse
     * (400: its validation; 503: not ready, waiting queue full) is refused before the caller is charged, then the
     * request is charged ({@link #admit(ServerWebExchange, GenerationRequest, int)}).
     */
    default void admit(ServerWebExchange exchange, GenerationRequest request, InferenceEngine engine) {
        request.validate(engine.modelInfo());
        engine.checkAccepting();
        admit(exchange, request, engine.modelInfo().maxModelLen());
    }

    /**
     * Charges {@code request}'s prompt plus {@code n ×} its {@code max_tokens} (or all the context it may still
     * fill), n being its number of choices.
     */
    default void admit(ServerWebExchange exchange, GenerationRequest request, int maxModelLen) {
        admit(exchange, charge(request.promptTokenIds().length, request.params().maxTokens(), maxModelLen,
                request.params().choices()));
    }

    /** The tokens OpenAI charges at admission: the prompt plus {@code max_tokens}, or all the context left. */
    static long charge(int promptTokens, Integer maxTokens, int maxModelLen) {
        return charge(promptTokens, maxTokens, maxModelLen, 1);
    }

    /** {@link #charge(int, Integer, int)} for {@code n} choices: the prompt once, the completion n times. */
    static long charge(int promptTokens, Integer maxTokens, int maxModelLen, int n) {
        long completion = maxTokens != null ? maxTokens : Math.max(0, maxModelLen - promptTokens);
        return (long) promptTokens + Math.max(1, n) * completion;
    }
}
