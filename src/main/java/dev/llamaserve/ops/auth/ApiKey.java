package dev.llamaserve.ops.auth;

import java.util.Arrays;
import java.util.Objects;

/**
 * One API key as the server keeps it: its id (logged, used as the rate-limit client) and the SHA-256 of the
 * key (the key itself is never kept), with optional per-key limits overriding {@code llm.ratelimit.*}.
 *
 * @param id the key's id; appears in logs and metrics, never the key
 * @param sha256 SHA-256 of the key's UTF-8 bytes (32 bytes)
 * @param requestsPerMinute this key's request limit, or null for {@code llm.ratelimit.requests-per-minute}
 * @param tokensPerMinute this key's token limit, or null for {@code llm.ratelimit.tokens-per-minute}
 */
public record ApiKey(String id, byte[] sha256, Long requestsPerMinute, Long tokensPerMinute) {

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
                && Objects.equals(tokensPerMinute, k.tokensPerMinute);
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
