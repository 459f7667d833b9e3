package dev.llamaserve.api.openai;

import org.springframework.web.server.ServerWebExchange;

/**
 * Exchange attributes the completion endpoints set for the access log: the engine's id of the request (the
 * completion id, by which the metering engine keeps the request's trace) and the model the response names.
 */
public final class CompletionAttributes {

    public static final String ENGINE_REQUEST_ID = CompletionAttributes.class.getName() + ".engineRequestId";
    public static final String MODEL = CompletionAttributes.class.getName() + ".model";

    private CompletionAttributes() {}

    static void put(ServerWebExchange exchange, String engineRequestId, String model) {
        exchange.getAttributes().put(ENGINE_REQUEST_ID, engineRequestId);
        exchange.getAttributes().put(MODEL, model);
    }

    /** The engine request id of the exchange's completion, or null when it submitted none. */
    public static String engineRequestId(ServerWebExchange exchange) {
        return exchange.getAttribute(ENGINE_REQUEST_ID) instanceof String s ? s : null;
    }

    /** The model the exchange's completion names, or null. */
    public static String model(ServerWebExchange exchange) {
        return exchange.getAttribute(MODEL) instanceof String s ? s : null;
    }
}
