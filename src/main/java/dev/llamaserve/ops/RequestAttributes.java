package dev.llamaserve.ops;

import org.springframework.web.server.ServerWebExchange;

/** Exchange attributes that the operations filters share (auth sets them, the access log reads them). */
public final class RequestAttributes {

    /**
     * The authenticated API key's id (never the key itself), set by the auth filter when keys are configured;
     * the access log and the per-key token counters read it.
     */
    public static final String KEY_ID = "dev.llamaserve.ops.keyId";

    private RequestAttributes() {}

    /** The request's API key id, or null when the request was not authenticated with a key. */
    public static String keyId(ServerWebExchange exchange) {
        Object id = exchange.getAttribute(KEY_ID);
        return id instanceof String s && !s.isEmpty() ? s : null;
    }
}
