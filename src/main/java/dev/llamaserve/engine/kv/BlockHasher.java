package dev.llamaserve.engine.kv;

/**
 * The content hash of one full KV block: a function of the hash of the block before it (the chain) and the
 * block's token ids. A lookup never trusts the hash alone: the cache compares the token ids and the parent
 * block too, so two prompts whose blocks collide can never share KV; a collision only costs a miss.
 */
@FunctionalInterface
public interface BlockHasher {

    /** The parent hash of a sequence's first block. */
    long ROOT = 0x6c6c616d61736572L;

    long hash(long parentHash, int[] blockTokens);

    /** 64-bit multiply-xorshift mixing of the parent hash and each token (fast, well spread; not cryptographic). */
    BlockHasher DEFAULT = (parent, tokens) -> {
        long h = parent ^ 0x9E3779B97F4A7C15L;
        for (int t : tokens) {
            h = (h ^ (t & 0xffffffffL)) * 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }
        h *= 0x94D049BB133111EBL;
        return h ^ (h >>> 29);
    };
}
