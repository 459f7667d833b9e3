package dev.llamaserve.engine.kv;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntUnaryOperator;

/**
 * Carves the model's one KV pool ({@code numBlocks × blockSize} token slots, allocated once at startup)
 * into fixed-size blocks and hands them to sequences.
 *
 * <p>Why paged blocks rather than a contiguous range per request: a contiguous range would have to be
 * reserved for prompt + {@code max_tokens} up front (most requests stop far earlier, and an unset
 * {@code max_tokens} means the whole context), and freed ranges fragment the pool. Blocks are taken
 * only as a sequence grows, any free block fits any sequence, and the waste is under one block per
 * sequence. The model reads a sequence's context through its slot list (the block table expanded to
 * {@code block * blockSize + offset}), page by page in place, so the blocks need not be adjacent.
 *
 * <p><b>Prefix caching</b> (when on): every full, computed block is registered in a {@link PrefixCache}
 * by content, blocks are reference-counted, and a sequence admitted with {@link #allocateWithPrefix} points
 * its block table at the cached blocks that hold its first tokens, which it then need not compute. A block
 * whose last reference goes away stays cached (LRU among the unreferenced ones) and is evicted only when a
 * block is needed and none holding nothing is left: {@link #freeBlocks()} counts evictable blocks as free,
 * so the scheduler evicts cached blocks before it preempts anything. Shared blocks are only ever read: a
 * sequence writes only positions at or after its computed count, which lie in blocks of its own.
 *
 * <p>Not thread-safe: owned by the engine thread. Sequences are identified by a {@code long} id.
 */
public final class BlockManager {

    private final int blockSize;
    private final int numBlocks;
    /** Unreferenced blocks that hold nothing cached; taken before any cached block is evicted. */
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final int[] refCount;
    private final Map<Long, BlockTable> tables = new HashMap<>();
    /** Null when prefix caching is off. */
    private final PrefixCache cache;

    /** A pool without prefix caching. */
    public BlockManager(int numBlocks, int blockSize) {
        this(numBlocks, blockSize, false, BlockHasher.DEFAULT);
    }

    /**
     * @param prefixCaching keep and share full blocks by content
     * @param hasher the content hash of a block (tests force collisions with it)
     */
    public BlockManager(int numBlocks, int blockSize, boolean prefixCaching, BlockHasher hasher) {
        if (numBlocks < 1) {
            throw new IllegalArgumentException("numBlocks must be >= 1, was " + numBlocks);
        }
        if (blockSize < 1) {
            throw new IllegalArgumentException("blockSize must be >= 1, was " + blockSize);
        }
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.refCount = new int[numBlocks];
        this.cache = prefixCaching ? new PrefixCache(numBlocks, blockSize, hasher) : null;
        for (int b = 0; b < numBlocks; b++) {
            free.addLast(b);
        }
    }

    public int blockSize() {
        return blockSize;
    }

    public int totalBlocks() {
        return numBlocks;
    }

    public boolean prefixCaching() {
        return cache != null;
    }

    /** Blocks a sequence can take: those holding nothing plus cached blocks nobody references (evictable). */
    public int freeBlocks() {
        return free.size() + (cache == null ? 0 : cache.evictable());
    }

    /** Blocks referenced by at least one sequence. */
    public int usedBlocks() {
        return numBlocks - freeBlocks();
    }

    /** Blocks registered in the prefix cache, referenced or not. */
    public int cachedBlocks() {
        return cache == null ? 0 : cache.cachedBlocks();
    }

    /** References to a block (0 when free or only cached). */
    public int refCount(int block) {
        return refCount[block];
    }

    /** Blocks needed to hold {@code tokens} token slots. */
    public int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }

    /** Blocks currently held by a sequence (0 when it holds none). */
    public int blocksOf(long seqId) {
        BlockTable t = tables.get(seqId);
        return t == null ? 0 : t.size;
    }

    /** True when the sequence could grow to {@code tokens} slots with the blocks now free. */
    public boolean canGrowTo(long seqId, int tokens) {
        return blocksFor(tokens) - blocksOf(seqId) <= freeBlocks();
    }

    /**
     * Makes the sequence hold at least {@code tokens} slots, all or nothing.
     *
     * @return false (and nothing allocated) when too few blocks are free
     */
    public boolean growTo(long seqId, int tokens) {
        int missing = blocksFor(tokens) - blocksOf(seqId);
        if (missing <= 0) {
            return true;
        }
        if (missing > freeBlocks()) {
            return false;
        }
        BlockTable t = tables.computeIfAbsent(seqId, k -> new BlockTable());
        for (int i = 0; i < missing; i++) {
            t.add(take());
        }
        return true;
    }

    /**
     * Gives a sequence that holds no blocks slots for {@code numTokens} tokens, its first blocks taken from
     * the prefix cache where they hold exactly its first tokens (never the block of its last token, so at
     * least that token is computed and yields logits). All or nothing.
     *
     * @param tokens the sequence's token at each position
     * @return how many leading tokens are cached (a multiple of the block size), or -1 when too few blocks
     *     are free (nothing allocated)
     */
    public int allocateWithPrefix(long seqId, IntUnaryOperator tokens, int numTokens) {
        if (blocksOf(seqId) != 0) {
            throw new IllegalStateException("sequence " + seqId + " already holds blocks");
        }
        List<PrefixCache.Link> hits = cache == null ? List.of() : cache.match(tokens, (numTokens - 1) / blockSize);
        int parkedHits = 0;
        for (PrefixCache.Link h : hits) {
            if (refCount[h.block()] == 0) {
                parkedHits++;
            }
        }
        if (blocksFor(numTokens) - hits.size() > freeBlocks() - parkedHits) {
            return -1;
        }
        if (!hits.isEmpty()) {
            BlockTable t = tables.computeIfAbsent(seqId, k -> new BlockTable());
            for (PrefixCache.Link h : hits) {
                if (refCount[h.block()]++ == 0) {
                    cache.unpark(h.block());
                }
                t.add(h.block());
            }
            t.hashed = hits.size();
            t.chain = hits.get(hits.size() - 1);
        }
        growTo(seqId, numTokens);
        return hits.size() * blockSize;
    }

    /**
     * Registers the sequence's full blocks among its first {@code numComputed} positions in the prefix
     * cache (a no-op when caching is off). Call after each step that computed positions.
     */
    public void cacheComputed(long seqId, IntUnaryOperator tokens, int numComputed) {
        BlockTable t = tables.get(seqId);
        if (cache == null || t == null) {
            return;
        }
        int full = Math.min(numComputed / blockSize, t.size);
        while (t.hashed < full) {
            t.chain = cache.register(t.blocks[t.hashed], t.chain, tokens, t.hashed);
            t.hashed++;
        }
    }

    /** Drops the sequence's references; returns how many blocks it held. Cached blocks stay cached. */
    public int free(long seqId) {
        BlockTable t = tables.remove(seqId);
        if (t == null) {
            return 0;
        }
        // Last blocks first: they are the least likely to be shared, so the first evicted (and, when
        // uncached, the first reused, warm in cache).
        for (int i = t.size - 1; i >= 0; i--) {
            int b = t.blocks[i];
            if (--refCount[b] == 0) {
                if (cache != null && cache.isCached(b)) {
                    cache.park(b);
                } else {
                    free.addFirst(b);
                }
            }
        }
        return t.size;
    }

    /** The slot of position {@code pos} of a sequence: {@code block * blockSize + offset}. */
    public int slot(long seqId, int pos) {
        BlockTable t = tables.get(seqId);
        int idx = pos / blockSize;
        if (t == null || idx >= t.size) {
            throw new IllegalStateException("sequence " + seqId + " holds no slot for position " + pos);
        }
        return t.blocks[idx] * blockSize + pos % blockSize;
    }

    /** Slots of positions {@code [0, len)}, position order. */
    public int[] slots(long seqId, int len) {
        int[] out = new int[len];
        fillSlots(seqId, 0, len, out, 0);
        return out;
    }

    /** Writes the slots of positions {@code [from, to)} into {@code out} starting at {@code at}. */
    public void fillSlots(long seqId, int from, int to, int[] out, int at) {
        BlockTable t = tables.get(seqId);
        if (to > (t == null ? 0 : t.size) * blockSize) {
            throw new IllegalStateException("sequence " + seqId + " holds no slot for position " + (to - 1));
        }
        for (int p = from; p < to; p++) {
            out[at++] = t.blocks[p / blockSize] * blockSize + p % blockSize;
        }
    }

    /** The sequence's block ids, in position order (a copy). */
    public int[] blockTable(long seqId) {
        BlockTable t = tables.get(seqId);
        return t == null ? new int[0] : Arrays.copyOf(t.blocks, t.size);
    }

    /** A block holding nothing, evicting the least recently freed cached one when none is left. */
    private int take() {
        int b = free.isEmpty() ? cache.evictLeastRecent() : free.pollFirst();
        refCount[b] = 1;
        return b;
    }

    private static final class BlockTable {
        int[] blocks = new int[8];
        int size;
        /** Leading blocks registered in (or taken from) the prefix cache. */
        int hashed;
        /** The cache chain's last link ({@link PrefixCache.Link#ROOT} before the first block). */
        PrefixCache.Link chain = PrefixCache.Link.ROOT;

        void add(int block) {
            if (size == blocks.length) {
                blocks = Arrays.copyOf(blocks, size * 2);
            }
            blocks[size++] = block;
        }
    }
}
