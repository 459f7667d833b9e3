package dev.llamaserve.engine.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.Test;

/** Automatic prefix caching in the block manager: blocks of four tokens. */
class PrefixCachingTest {

    private static IntUnaryOperator tokens(int... ids) {
        return p -> ids[p];
    }

    /** Allocates, "computes" every token, registers the full blocks; returns the cached token count. */
    private static int run(BlockManager kv, long seq, int... ids) {
        int cached = kv.allocateWithPrefix(seq, tokens(ids), ids.length);
        kv.cacheComputed(seq, tokens(ids), ids.length);
        return cached;
    }

    @Test
    void aPromptStartingWithCachedFullBlocksSharesThemAndOnlyFullBlocksAreCached() {
        BlockManager kv = new BlockManager(8, 4, true, BlockHasher.DEFAULT);
        assertEquals(0, run(kv, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
        assertEquals(2, kv.cachedBlocks(), "two full blocks; the partial third is not cached");
        int[] first = kv.blockTable(1);
        kv.free(1);
        assertEquals(0, kv.usedBlocks());
        assertEquals(8, kv.freeBlocks(), "cached blocks nobody references count as free");
        assertEquals(2, kv.cachedBlocks(), "kept after the sequence ended");

        assertEquals(8, run(kv, 2, 1, 2, 3, 4, 5, 6, 7, 8, 99, 98, 97));
        int[] second = kv.blockTable(2);
        assertEquals(first[0], second[0]);
        assertEquals(first[1], second[1]);
        assertEquals(1, kv.refCount(second[2]), "the partial block is the sequence's own");
        assertEquals(2, kv.cachedBlocks());

        assertEquals(4, run(kv, 3, 1, 2, 3, 4, 50, 51, 52, 53), "a different second block: only the first shared");
        assertEquals(2, kv.refCount(first[0]));
        assertEquals(1, kv.refCount(first[1]));
    }

    @Test
    void theLastTokenIsAlwaysComputed() {
        BlockManager kv = new BlockManager(8, 4, true, BlockHasher.DEFAULT);
        run(kv, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        kv.free(1);
        assertEquals(4, run(kv, 2, 1, 2, 3, 4, 5, 6, 7, 8),
                "the same 8 tokens: the block of the last one is recomputed, so it has logits");
    }

    @Test
    void blocksAreReferenceCountedAndSharedOnesSurviveOneOwnerFreeingThem() {
        BlockManager kv = new BlockManager(8, 4, true, BlockHasher.DEFAULT);
        run(kv, 1, 1, 2, 3, 4, 5);
        assertEquals(4, run(kv, 2, 1, 2, 3, 4, 6));
        int shared = kv.blockTable(1)[0];
        assertEquals(2, kv.refCount(shared));
        assertEquals(4, kv.usedBlocks() + 1, "3 blocks: one shared, two own");
        kv.free(1);
        assertEquals(1, kv.refCount(shared));
        assertEquals(2, kv.usedBlocks());
        kv.free(2);
        assertEquals(0, kv.refCount(shared));
        assertEquals(0, kv.usedBlocks());
        assertEquals(1, kv.cachedBlocks());
    }

    @Test
    void cachedBlocksAreEvictedLeastRecentlyFreedFirstAndOnlyWhenNothingElseIsFree() {
        BlockManager kv = new BlockManager(4, 4, true, BlockHasher.DEFAULT);
        run(kv, 1, 1, 2, 3, 4, 5, 6, 7, 8); // a: 2 blocks cached
        kv.free(1);
        run(kv, 2, 9, 10, 11, 12, 13, 14, 15, 16); // b: 2 blocks cached
        kv.free(2);
        assertEquals(4, kv.cachedBlocks());
        assertEquals(4, kv.freeBlocks());

        // One block for an unrelated prompt: nothing is free but cached blocks, so a's last block (the least
        // recently freed, and freed before a's first) goes.
        assertEquals(0, run(kv, 3, 40, 41));
        assertEquals(3, kv.cachedBlocks());
        kv.free(3);
        assertEquals(4, run(kv, 4, 1, 2, 3, 4, 5, 6, 7, 8), "a keeps only its first block");
        kv.free(4);
        assertEquals(8, run(kv, 5, 9, 10, 11, 12, 13, 14, 15, 16, 0), "b is whole");
    }

    @Test
    void aForcedHashCollisionNeverSharesBlocksOfDifferentTokens() {
        BlockHasher collide = (parent, block) -> 42L; // every block has the same hash
        BlockManager kv = new BlockManager(8, 4, true, collide);
        run(kv, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0);
        kv.free(1);
        assertEquals(0, run(kv, 2, 9, 9, 9, 9, 5, 6, 7, 8, 0), "same hash, other tokens: a miss");
        kv.free(2);
        assertEquals(0, run(kv, 3, 5, 6, 7, 8, 0), "a's second block's tokens at the start: a miss (other parent)");
        kv.free(3);
        assertEquals(8, run(kv, 4, 1, 2, 3, 4, 5, 6, 7, 8, 0), "the same tokens still hit");
    }

    @Test
    void aChildOfAnEvictedAndReusedParentIsNeverMatched() {
        BlockHasher collide = (parent, block) -> 42L;
        PrefixCache cache = new PrefixCache(4, 2, collide);
        IntUnaryOperator a = tokens(1, 2, 3, 4);
        PrefixCache.Link p = cache.register(0, PrefixCache.Link.ROOT, a, 0);
        cache.register(1, p, a, 1);
        assertEquals(2, cache.match(a, 2).size());
        cache.park(0);
        assertEquals(0, cache.evictLeastRecent());
        // Block 0 now holds other tokens; block 1 still names block 0 as its parent.
        IntUnaryOperator b = tokens(5, 6, 3, 4);
        cache.register(0, PrefixCache.Link.ROOT, b, 0);
        List<PrefixCache.Link> m = cache.match(b, 2);
        assertEquals(1, m.size(), "block 1 followed other tokens: it must not match after [5, 6]");
        assertEquals(0, cache.match(a, 2).size());
    }

    @Test
    void identicalBlocksComputedTwiceAreCachedOnce() {
        BlockManager kv = new BlockManager(8, 4, true, BlockHasher.DEFAULT);
        int[] prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        kv.allocateWithPrefix(1, tokens(prompt), prompt.length);
        kv.allocateWithPrefix(2, tokens(prompt), prompt.length); // both admitted before either computed
        kv.cacheComputed(1, tokens(prompt), 9);
        kv.cacheComputed(2, tokens(prompt), 9);
        assertEquals(2, kv.cachedBlocks());
        kv.free(1);
        kv.free(2);
        assertEquals(8, kv.freeBlocks());
        assertEquals(8, run(kv, 3, prompt));
    }

    @Test
    void withoutPrefixCachingNothingIsShared() {
        BlockManager kv = new BlockManager(8, 4);
        assertEquals(0, run(kv, 1, 1, 2, 3, 4, 5));
        kv.free(1);
        assertEquals(0, run(kv, 2, 1, 2, 3, 4, 5));
        assertEquals(0, kv.cachedBlocks());
        assertArrayEquals(new int[] {kv.blockTable(2)[0], kv.blockTable(2)[1]}, kv.blockTable(2));
    }
}
