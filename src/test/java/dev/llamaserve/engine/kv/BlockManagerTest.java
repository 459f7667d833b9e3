package dev.llamaserve.engine.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Three blocks of four tokens: allocation is all-or-nothing, freeing returns every block at once. */
class BlockManagerTest {

    private final BlockManager kv = new BlockManager(3, 4);

    @Test
    void growsBlockByBlockAndMapsSlots() {
        assertTrue(kv.growTo(1, 5)); // 2 blocks
        assertEquals(2, kv.blocksOf(1));
        assertEquals(1, kv.freeBlocks());
        assertTrue(kv.growTo(1, 8)); // still 2 blocks
        assertEquals(2, kv.blocksOf(1));
        int[] table = kv.blockTable(1);
        assertEquals(table[0] * 4 + 3, kv.slot(1, 3));
        assertEquals(table[1] * 4 + 1, kv.slot(1, 5));
        int[] slots = kv.slots(1, 8);
        for (int p = 0; p < 8; p++) {
            assertEquals(kv.slot(1, p), slots[p]);
        }
        assertThrows(IllegalStateException.class, () -> kv.slot(1, 8));
    }

    @Test
    void allOrNothing() {
        assertTrue(kv.growTo(1, 4));
        assertFalse(kv.growTo(2, 9)); // needs 3, 2 free
        assertEquals(0, kv.blocksOf(2));
        assertEquals(2, kv.freeBlocks());
        assertFalse(kv.canGrowTo(2, 9));
        assertTrue(kv.canGrowTo(2, 8));
        assertTrue(kv.growTo(2, 8));
        assertEquals(0, kv.freeBlocks());
        assertFalse(kv.growTo(1, 5));
        assertEquals(1, kv.blocksOf(1));
    }

    @Test
    void sequencesNeverShareABlock() {
        assertTrue(kv.growTo(1, 4));
        assertTrue(kv.growTo(2, 4));
        assertTrue(kv.growTo(3, 4));
        Set<Integer> blocks = new HashSet<>();
        for (long s = 1; s <= 3; s++) {
            for (int b : kv.blockTable(s)) {
                assertTrue(blocks.add(b), "block " + b + " handed out twice");
            }
        }
        assertEquals(Set.of(0, 1, 2), blocks);
    }

    @Test
    void freeReturnsAllBlocksForReuse() {
        assertTrue(kv.growTo(1, 12));
        assertEquals(3, kv.usedBlocks());
        assertEquals(3, kv.free(1));
        assertEquals(0, kv.usedBlocks());
        assertEquals(0, kv.blocksOf(1));
        assertEquals(0, kv.free(1));
        assertTrue(kv.growTo(2, 12));
        assertArrayEquals(new int[] {0, 1, 2}, kv.blockTable(2));
    }

    @Test
    void manyShortSequencesFitWhereMaxLengthSlotsWouldNot() {
        // A budget of 2 x max-model-len (2048) tokens in blocks of 16 holds 16 requests of 256 tokens,
        // where slots of max-model-len would hold 2.
        BlockManager pool = new BlockManager(2 * 2048 / 16, 16);
        for (long s = 0; s < 16; s++) {
            assertTrue(pool.growTo(s, 256), "request " + s);
        }
        assertEquals(0, pool.freeBlocks());
        assertNotEquals(0, pool.usedBlocks());
    }

    @Test
    void rejectsBadSizes() {
        assertThrows(IllegalArgumentException.class, () -> new BlockManager(0, 4));
        assertThrows(IllegalArgumentException.class, () -> new BlockManager(3, 0));
    }
}
