package dev.llamaserve.engine.kv;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

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
 * <p>Not thread-safe: owned by the engine thread. Sequences are identified by a {@code long} id.
 */
public final class BlockManager {

    private final int blockSize;
    private final int numBlocks;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final Map<Long, BlockTable> tables = new HashMap<>();

    public BlockManager(int numBlocks, int blockSize) {
        if (numBlocks < 1) {
            throw new IllegalArgumentException("numBlocks must be >= 1, was " + numBlocks);
        }
        if (blockSize < 1) {
            throw new IllegalArgumentException("blockSize must be >= 1, was " + blockSize);
        }
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
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

    public int freeBlocks() {
        return free.size();
    }

    public int usedBlocks() {
        return numBlocks - free.size();
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

    /** Token slots the sequence can hold without allocating. */
    public int capacityOf(long seqId) {
        return blocksOf(seqId) * blockSize;
    }

    /** True when the sequence could grow to {@code tokens} slots with the blocks now free. */
    public boolean canGrowTo(long seqId, int tokens) {
        return blocksFor(tokens) - blocksOf(seqId) <= free.size();
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
        if (missing > free.size()) {
            return false;
        }
        BlockTable t = tables.computeIfAbsent(seqId, k -> new BlockTable());
        for (int i = 0; i < missing; i++) {
            t.add(free.pollFirst());
        }
        return true;
    }

    /** Returns all of the sequence's blocks to the pool; returns how many were freed. */
    public int free(long seqId) {
        BlockTable t = tables.remove(seqId);
        if (t == null) {
            return 0;
        }
        // Most recently freed blocks are reused first (warm in cache).
        for (int i = t.size - 1; i >= 0; i--) {
            free.addFirst(t.blocks[i]);
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

    private static final class BlockTable {
        int[] blocks = new int[8];
        int size;

        void add(int block) {
            if (size == blocks.length) {
                blocks = Arrays.copyOf(blocks, size * 2);
            }
            blocks[size++] = block;
        }
    }
}
