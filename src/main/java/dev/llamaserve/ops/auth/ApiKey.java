package dev.llamaserve.ops.auth;

import java.util.Arrays;
import java.util.Objects;

/**
 * One API key as the server keeps it: its id (logged, used as the rate-limit client) and the SHA-256 of the
 * key (the key itself is never kept), with optional per-key limits overriding {@code llm.ratelimit.*} and
 * {@code llm.ops.max-concurrent-requests-per-client}.
 *
 * @param id the key's id; appears in logs and metrics, never the key
 * @param sha256 SHA-256 of the key's UTF-8 bytes (32 bytes)
 * @param requestsPerMinute this key's request limit, or null for {@code llm.ratelimit.requests-per-minute}
 * @param tokensPerMinute this key's token limit, or null for {@code llm.ratelimit.tokens-per-minute}
 * @param maxConcurrentRequests this key's requests in flight at most (0 = no bound beyond the server's), or null
 *        for {@code llm.ops.max-concurrent-requests-per-client}
 */
public record ApiKey(String id, byte[] sha256, Long requestsPerMinute, Long tokensPerMinute,
        Integer maxConcurrentRequests) {

    /** A key without its own bound on requests in flight. */
    public ApiKey(String id, byte[] sha256, Long requestsPerMinute, Long tokensPerMinute) {
        this(id, sha256, requestsPerMinute, tokensPerMinute, null);
    }

    public ApiKey {
        if (id == null || id.isBlank()) {
            throw new IllegalArgumentException("an API key needs an id");
        }
        if (sha256 == null || sha256.length != 32) {
            throw new IllegalArgumentException("API key " + id + ": the digest must be 32 bytes (SHA-256)");
        }
        sha256 = sha256.clone();
    }

    @Override
    public byte[] sha256() {
        return sha256.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ApiKey k && id.equals(k.id) && Arrays.equals(sha256, k.sha256)
                && Objects.equals(requestsPerMinute, k.requestsPerMinute)
                && Objects.equals(tokensPerMinute, k.tokensPerMinute)
                && Objects.equals(maxConcurrentRequests, k.maxConcurrentRequests);
    }

    @Override
    public int hashCode() {
        return id.hashCode();
    }

    /** Never the digest: records print their components, and a digest of a weak key is a guessable secret. */
    @Override
    public String toString() {
        return "ApiKey[" + id + "]";
    }
}
