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
     * caller is charged the prompt plus {@code n ×} the {@code max_tokens} the engine resolved (all the context
     * left where unset: its context-length rule, not a copy of it), n being the request's number of choices.
     */
    default void admit(ServerWebExchange exchange, GenerationRequest request, InferenceEngine engine) {
        int maxTokens = request.validate(engine.modelInfo()).maxTokens();
        engine.checkAccepting();
        admit(exchange, charge(request.promptTokenIds().length, maxTokens, request.params().choices()));
    }

    /** The tokens OpenAI charges at admission: the prompt once, the completion's {@code max_tokens} n times. */
    static long charge(int promptTokens, int maxTokens, int n) {
        return (long) promptTokens + Math.max(1, n) * (long) maxTokens;
    }
}
