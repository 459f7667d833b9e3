package dev.llamaserve.engine.kv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.function.IntUnaryOperator;

/**
 * The content index of full KV blocks (vLLM v1's automatic prefix caching), owned by {@link BlockManager}.
 *
 * <p>A full, computed block is registered under the hash of (parent block's hash, its token ids). A block
 * matches a lookup only when its hash, its token ids and its parent (block id and registration generation)
 * all match, so a match of block {@code i} proves, by induction over the chain, that positions
 * {@code [0, (i + 1) × blockSize)} hold exactly the same tokens: a hash collision cannot mix two prompts.
 * The generation changes every time a block is registered, so a child whose parent was evicted and reused
 * for other content can no longer be reached.
 *
 * <p>Registered blocks that no sequence references stay cached and are kept in LRU order
 * ({@link #park}); the block manager evicts the least recently freed one only when it runs out of blocks
 * that hold nothing, which is before any running sequence is preempted.
 */
final class PrefixCache {

    private final int blockSize;
    private final BlockHasher hasher;
    private final long[] hash;
    private final int[] parent;
    private final long[] parentGen;
    /** 0: not registered; else this registration's generation. */
    private final long[] gen;
    private final int[] tokens;
    private final Map<Long, List<Integer>> index = new HashMap<>();
    /** Cached blocks with no reference, least recently freed first. */
    private final LinkedHashSet<Integer> lru = new LinkedHashSet<>();
    private long nextGen = 1;
    private int registered;

    PrefixCache(int numBlocks, int blockSize, BlockHasher hasher) {
        this.blockSize = blockSize;
        this.hasher = hasher;
        this.hash = new long[numBlocks];
        this.parent = new int[numBlocks];
        this.parentGen = new long[numBlocks];
        this.gen = new long[numBlocks];
        this.tokens = new int[numBlocks * blockSize];
    }

    /** A position in a chain of cached blocks: the last block, its generation and hash (block -1: the root). */
    record Link(int block, long gen, long hash) {
        static final Link ROOT = new Link(-1, 0, BlockHasher.ROOT);
    }

    boolean isCached(int block) {
        return gen[block] != 0;
    }

    int cachedBlocks() {
        return registered;
    }

    int evictable() {
        return lru.size();
    }

    /** A cached block's last reference went away: it stays cached, most recently freed last. */
    void park(int block) {
        lru.add(block);
    }

    /** A parked block is referenced again. */
    void unpark(int block) {
        lru.remove(block);
    }

    /** Evicts the least recently freed unreferenced block and returns it, now holding nothing. */
    int evictLeastRecent() {
        Iterator<Integer> it = lru.iterator();
        int block = it.next();
        it.remove();
        List<Integer> same = index.get(hash[block]);
        same.remove(Integer.valueOf(block));
        if (same.isEmpty()) {
            index.remove(hash[block]);
        }
        gen[block] = 0;
        registered--;
        return block;
    }

    /**
     * The longest chain of cached blocks that holds the first positions of {@code seq}, at most
     * {@code maxBlocks} blocks.
     */
    List<Link> match(IntUnaryOperator seq, int maxBlocks) {
        List<Link> out = new ArrayList<>();
        Link at = Link.ROOT;
        int[] block = new int[blockSize];
        for (int i = 0; i < maxBlocks; i++) {
            fill(seq, i, block);
            long h = hasher.hash(at.hash(), block);
            int b = find(h, at, block);
            if (b < 0) {
                break;
            }
            at = new Link(b, gen[b], h);
            out.add(at);
        }
        return out;
    }

    /**
     * Registers block {@code block}, which holds the computed positions {@code [i × blockSize, (i + 1) × blockSize)}
     * of {@code seq} and follows {@code parentLink} in its chain. When an identical block is cached already
     * (two sequences computed the same content), that one stays the cached copy and {@code block} stays
     * unregistered (freed normally).
     *
     * @return the chain's new last link
     */
    Link register(int block, Link parentLink, IntUnaryOperator seq, int i) {
        int[] content = new int[blockSize];
        fill(seq, i, content);
        long h = hasher.hash(parentLink.hash(), content);
        int existing = find(h, parentLink, content);
        if (existing >= 0) {
            return new Link(existing, gen[existing], h);
        }
        hash[block] = h;
        parent[block] = parentLink.block();
        parentGen[block] = parentLink.gen();
        gen[block] = nextGen++;
        System.arraycopy(content, 0, tokens, block * blockSize, blockSize);
        index.computeIfAbsent(h, k -> new ArrayList<>(1)).add(block);
        registered++;
        return new Link(block, gen[block], h);
    }

    private int find(long h, Link parentLink, int[] content) {
        List<Integer> candidates = index.get(h);
        if (candidates == null) {
            return -1;
        }
        for (int b : candidates) {
            if (parent[b] == parentLink.block() && parentGen[b] == parentLink.gen()
                    && Arrays.equals(tokens, b * blockSize, (b + 1) * blockSize, content, 0, blockSize)) {
                return b;
            }
        }
        return -1;
    }

    private void fill(IntUnaryOperator seq, int blockIndex, int[] out) {
        int base = blockIndex * blockSize;
        for (int k = 0; k < blockSize; k++) {
            out[k] = seq.applyAsInt(base + k);
        }
    }
}
