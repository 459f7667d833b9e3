package dev.llamaserve.engine.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.IntUnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random runs of the block manager's operations, made as the scheduler makes them (a sequence allocated with its
 * prefix looked up, computed chunk by chunk with its full blocks registered, grown a few tokens at a time, freed; a
 * sibling or a recompute whose prefix is cached), on pools of 4 to 12 blocks of 1 to 4 tokens over 2 to 4 token ids,
 * so that blocks repeat, the same block is computed by two sequences, prefixes are shared and cached blocks are
 * evicted all the time. After every operation the manager is checked against a reference model the test keeps on its
 * own terms (a cached block is known by the whole prefix it holds and the registration of the block before it, not by
 * a hash):
 *
 * <ul>
 *   <li>each block's reference count is the number of block tables that hold it, no table holds a block twice, and the
 *       used and free counts are those of the referenced blocks; no block is both free and referenced;</li>
 *   <li>a lookup hits exactly the leading blocks the model finds cached (never the block of the last token, never a
 *       block registered after a parent since evicted), an allocation or a grow fails exactly when the blocks not
 *       referenced, cached ones included, are too few, and then takes nothing;</li>
 *   <li>a new block is one holding nothing while one is left, else the least recently freed cached block, which is
 *       then no longer cached;</li>
 *   <li>every computed position a sequence reads holds its own tokens: a block reached through the cache holds exactly
 *       the prefix of the sequence that reads it, and a sequence writes only blocks no one else holds and the cache
 *       does not index (so a hash collision, forced here by hashers that collide always or often, can never mix
 *       two prompts).</li>
 * </ul>
 *
 * Each case is a fixed seed and hasher (or caching off); a failure names both, the pool and the operation.
 */
class BlockManagerPropertyTest {

    private static final int OPERATIONS = 1500;

    /**
     * Hashers: the default, one where every block collides, one where blocks collide often across parents; and a pool
     * without prefix caching.
     */
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (long seed = 1; seed <= 4; seed++) {
            out.add(Arguments.of(seed, "default"));
            out.add(Arguments.of(seed, "all-collide"));
            out.add(Arguments.of(seed, "weak"));
            out.add(Arguments.of(seed, "no-caching"));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "seed {0}, hasher {1}")
    @MethodSource("cases")
    void randomOperationsMatchTheReferenceModel(long seed, String hasher) {
        new Run(seed, hasher).run();
    }

    /** A cached block as the model knows it: the whole prefix it holds and the registration it follows. */
    private static final class Entry {
        final List<Integer> key;
        final int block;
        final long reg;
        final long parentReg;
        /** When its last reference went away (LRU order); -1 while referenced. */
        long parkedAt = -1;

        Entry(List<Integer> key, int block, long reg, long parentReg) {
            this.key = key;
            this.block = block;
            this.reg = reg;
            this.parentReg = parentReg;
        }
    }

    private static final class Seq {
        final long id;
        final List<Integer> tokens;
        int[] table = new int[0];
        int computed;
        /** Leading blocks taken from or registered in the cache (the manager's own rule for what it registers). */
        int hashed;
        /** The registration the next registered block follows (0: the root). */
        long chain;

        Seq(long id, List<Integer> tokens) {
            this.id = id;
            this.tokens = tokens;
        }

        IntUnaryOperator at() {
            return tokens::get;
        }

        List<Integer> prefix(int blocks, int bs) {
            return List.copyOf(tokens.subList(0, blocks * bs));
        }
    }

    private static final class Run {
        final long seed;
        final String hasherName;
        final SplittableRandom rnd;
        final int numBlocks;
        final int bs;
        /** Distinct token ids: 2 to 4, so that blocks repeat often. */
        final int alphabet;
        final boolean caching;
        final BlockManager kv;
        final int[] refs;
        /** The prefix each block's computed K/V belongs to, by block (null: nothing computed, or only part of it). */
        final List<List<Integer>> content = new ArrayList<>();
        final Map<Long, Seq> live = new LinkedHashMap<>();
        final List<List<Integer>> history = new ArrayList<>();
        final List<List<Integer>> stems = new ArrayList<>();
        /** Live registrations, by block. */
        final Map<Integer, Entry> cached = new HashMap<>();
        long nextSeq = 1;
        long nextReg = 1;
        long clock;
        int op;
        /** What the run exercised: a run that never hit, evicted or ran out of blocks would check little. */
        int hitBlocks;
        int evictions;
        int duplicates;
        int refused;
        String what = "";

        Run(long seed, String hasher) {
            this.seed = seed;
            this.hasherName = hasher;
            this.rnd = new SplittableRandom(seed * 31 + hasher.hashCode());
            this.numBlocks = 4 + rnd.nextInt(9);
            this.bs = 1 + rnd.nextInt(4);
            this.alphabet = 2 + rnd.nextInt(3);
            this.caching = !hasher.equals("no-caching");
            BlockHasher h = switch (hasher) {
                case "all-collide" -> (parent, block) -> 42L;
                case "weak" -> (parent, block) -> (parent + Arrays.stream(block).sum()) % 3;
                default -> BlockHasher.DEFAULT;
            };
            this.kv = new BlockManager(numBlocks, bs, caching, h);
            this.refs = new int[numBlocks];
            for (int b = 0; b < numBlocks; b++) {
                content.add(null);
            }
            for (int s = 0; s < 3; s++) {
                List<Integer> stem = new ArrayList<>();
                for (int i = 0; i < 4 * bs + 3; i++) {
                    stem.add(rnd.nextInt(alphabet));
                }
                stems.add(stem);
            }
        }

        String where() {
            return "seed " + seed + ", hasher " + hasherName + ", " + numBlocks + " blocks of " + bs + ", " + alphabet
                    + " token ids, operation " + op + " (" + what + ")";
        }

        void run() {
            for (op = 0; op < OPERATIONS; op++) {
                int dice = rnd.nextInt(100);
                Seq any = live.isEmpty() ? null : pick();
                if (any == null || dice < 25) {
                    allocate(newTokens());
                } else if (dice < 32 && !history.isEmpty()) {
                    // A sibling of a live sequence, or a preempted one coming back: the same tokens again.
                    allocate(new ArrayList<>(history.get(rnd.nextInt(history.size()))));
                } else if (dice < 62) {
                    compute(any);
                } else if (dice < 82) {
                    append(any);
                } else {
                    free(any);
                }
                checkAll();
            }
            for (Seq s : List.copyOf(live.values())) {
                free(s);
            }
            checkAll();
            assertEquals(0, kv.usedBlocks(), where());
            assertEquals(numBlocks, kv.freeBlocks(), where());
            assertTrue(refused > 0, "no allocation or grow was refused: " + where());
            if (caching) {
                assertTrue(hitBlocks > 0 && evictions > 0 && duplicates > 0, hitBlocks + " hits, " + duplicates
                        + " blocks computed twice, " + evictions + " evictions: " + where());
            }
        }

        Seq pick() {
            int i = rnd.nextInt(live.size());
            return live.values().stream().skip(i).findFirst().orElseThrow();
        }

        List<Integer> newTokens() {
            List<Integer> t = new ArrayList<>();
            if (rnd.nextInt(4) != 0) {
                List<Integer> stem = stems.get(rnd.nextInt(stems.size()));
                t.addAll(stem.subList(0, rnd.nextInt(stem.size() + 1)));
            }
            int tail = (t.isEmpty() ? 1 : 0) + rnd.nextInt(2 * bs + 1);
            for (int i = 0; i < tail; i++) {
                t.add(rnd.nextInt(alphabet));
            }
            return t;
        }

        int blocksFor(int tokens) {
            return (tokens + bs - 1) / bs;
        }

        /** Cached blocks nobody references, least recently freed first. */
        List<Entry> parked() {
            List<Entry> out = new ArrayList<>();
            for (Entry e : cached.values()) {
                if (e.parkedAt >= 0) {
                    out.add(e);
                }
            }
            out.sort(Comparator.comparingLong(e -> e.parkedAt));
            return out;
        }

        int referenced() {
            int n = 0;
            for (int r : refs) {
                n += r > 0 ? 1 : 0;
            }
            return n;
        }

        /** What the cache holds for the sequence's first blocks: whole prefixes, each following the one before. */
        List<Entry> match(Seq s, int maxBlocks) {
            List<Entry> out = new ArrayList<>();
            long chain = 0;
            for (int i = 0; i < maxBlocks; i++) {
                List<Integer> key = s.prefix(i + 1, bs);
                Entry hit = null;
                for (Entry e : cached.values()) {
                    if (e.parentReg == chain && e.key.equals(key)) {
                        assertTrue(hit == null, "two cached blocks for one prefix and parent: " + where());
                        hit = e;
                    }
                }
                if (hit == null) {
                    break;
                }
                out.add(hit);
                chain = hit.reg;
            }
            return out;
        }

        void allocate(List<Integer> tokens) {
            Seq s = new Seq(nextSeq++, tokens);
            int n = tokens.size();
            what = "allocate sequence " + s.id + " of " + n + " tokens " + tokens;
            history.add(List.copyOf(tokens));
            List<Entry> hits = caching ? match(s, (n - 1) / bs) : List.of();
            List<Entry> parked = parked();
            int parkedHits = (int) hits.stream().filter(e -> e.parkedAt >= 0).count();
            int uncachedFree = numBlocks - referenced() - parked.size();
            int needed = blocksFor(n) - hits.size();
            boolean fits = needed <= uncachedFree + parked.size() - parkedHits;

            int got = kv.allocateWithPrefix(s.id, s.at(), n);
            if (!fits) {
                assertEquals(-1, got, "too few free blocks: " + where());
                refused++;
                assertEquals(0, kv.blocksOf(s.id), "a failed allocation takes nothing: " + where());
                return;
            }
            assertEquals(hits.size() * bs, got, "cached tokens: " + where());
            int[] table = kv.blockTable(s.id);
            assertEquals(blocksFor(n), table.length, where());
            for (int i = 0; i < hits.size(); i++) {
                Entry e = hits.get(i);
                assertEquals(e.block, table[i], "hit " + i + " is the cached block: " + where());
                hitBlocks++;
                e.parkedAt = -1;
                refs[e.block]++;
            }
            List<Entry> evictable = new ArrayList<>(parked);
            evictable.removeAll(hits);
            taken(Arrays.copyOfRange(table, hits.size(), table.length), uncachedFree, evictable);
            s.table = table;
            s.computed = got;
            s.hashed = hits.size();
            s.chain = hits.isEmpty() ? 0 : hits.get(hits.size() - 1).reg;
            live.put(s.id, s);
        }

        /**
         * New blocks: those holding nothing first, then cached ones nobody references, least recently freed first
         * (evicted: no longer cached).
         */
        void taken(int[] blocks, int uncachedFree, List<Entry> evictable) {
            for (int j = 0; j < blocks.length; j++) {
                int b = blocks[j];
                assertEquals(0, refs[b], "block " + b + " was taken while referenced: " + where());
                if (j < uncachedFree) {
                    assertFalse(cached.containsKey(b),
                            "block " + b + " evicted while blocks holding nothing were left: " + where());
                } else {
                    Entry e = evictable.get(j - uncachedFree);
                    assertEquals(e.block, b, "the least recently freed cached block is evicted first: " + where());
                    cached.remove(b);
                    evictions++;
                }
                refs[b]++;
                content.set(b, null);
            }
        }

        void compute(Seq s) {
            int held = s.table.length * bs;
            int limit = Math.min(held, s.tokens.size());
            if (s.computed >= limit) {
                append(s);
                return;
            }
            int to = s.computed + 1 + rnd.nextInt(limit - s.computed);
            what = "compute positions [" + s.computed + ", " + to + ") of sequence " + s.id;
            for (int p = s.computed; p < to; p++) {
                int b = s.table[p / bs];
                assertEquals(1, refs[b], "a sequence writes into block " + b + " that others hold: " + where());
                assertFalse(cached.containsKey(b), "a sequence writes into cached block " + b + ": " + where());
            }
            for (int i = s.computed / bs; i < to / bs; i++) {
                content.set(s.table[i], s.prefix(i + 1, bs));
            }
            s.computed = to;
            kv.cacheComputed(s.id, s.at(), to);
            if (!caching) {
                return;
            }
            int full = Math.min(to / bs, s.table.length);
            while (s.hashed < full) {
                List<Integer> key = s.prefix(s.hashed + 1, bs);
                Entry same = null;
                for (Entry e : cached.values()) {
                    if (e.parentReg == s.chain && e.key.equals(key)) {
                        same = e;
                    }
                }
                if (same != null) {
                    duplicates++;
                } else {
                    same = new Entry(key, s.table[s.hashed], nextReg++, s.chain);
                    assertFalse(cached.containsKey(same.block), where());
                    cached.put(same.block, same);
                }
                s.chain = same.reg;
                s.hashed++;
            }
        }

        void append(Seq s) {
            if (s.computed < s.tokens.size()) {
                compute(s);
                return;
            }
            int k = 1 + rnd.nextInt(Math.max(1, bs));
            List<Integer> before = List.copyOf(s.tokens);
            for (int i = 0; i < k; i++) {
                s.tokens.add(rnd.nextInt(alphabet));
            }
            int n = s.tokens.size();
            what = "grow sequence " + s.id + " to " + n + " tokens";
            int missing = blocksFor(n) - s.table.length;
            List<Entry> parked = parked();
            int uncachedFree = numBlocks - referenced() - parked.size();
            boolean fits = missing <= uncachedFree + parked.size();
            boolean grew = kv.growTo(s.id, n);
            assertEquals(fits, grew, where());
            if (!grew) {
                refused++;
                assertArrayEquals(s.table, kv.blockTable(s.id), "a failed grow takes nothing: " + where());
                // As the scheduler does: preempt it (its tokens are kept, to come back through the cache).
                s.tokens.clear();
                s.tokens.addAll(before);
                free(s);
                history.add(List.copyOf(before));
                return;
            }
            int[] table = kv.blockTable(s.id);
            assertArrayEquals(s.table, Arrays.copyOf(table, s.table.length), "a grow keeps the blocks: " + where());
            taken(Arrays.copyOfRange(table, s.table.length, table.length), uncachedFree, parked);
            s.table = table;
        }

        void free(Seq s) {
            what = "free sequence " + s.id;
            assertEquals(s.table.length, kv.free(s.id), where());
            live.remove(s.id);
            for (int i = s.table.length - 1; i >= 0; i--) {
                int b = s.table[i];
                if (--refs[b] == 0 && cached.containsKey(b)) {
                    cached.get(b).parkedAt = ++clock;
                }
            }
        }

        void checkAll() {
            int[] seen = new int[numBlocks];
            for (Seq s : live.values()) {
                int[] table = kv.blockTable(s.id);
                assertArrayEquals(s.table, table, "block table of sequence " + s.id + ": " + where());
                Set<Integer> own = new HashSet<>();
                for (int i = 0; i < table.length; i++) {
                    assertTrue(own.add(table[i]),
                            "sequence " + s.id + " holds block " + table[i] + " twice: " + where());
                    seen[table[i]]++;
                    if ((i + 1) * bs <= s.computed) {
                        assertEquals(s.prefix(i + 1, bs), content.get(table[i]),
                                "block " + i + " of sequence " + s.id + " holds other tokens: " + where());
                    }
                }
            }
            int used = 0;
            for (int b = 0; b < numBlocks; b++) {
                assertEquals(refs[b], seen[b], "block " + b + " is in as many tables as the model counts: " + where());
                assertEquals(refs[b], kv.refCount(b), "reference count of block " + b + ": " + where());
                used += refs[b] > 0 ? 1 : 0;
                Entry e = cached.get(b);
                if (e != null) {
                    assertEquals(e.parkedAt < 0, refs[b] > 0, where());
                }
            }
            assertEquals(used, kv.usedBlocks(), "used blocks: " + where());
            assertEquals(numBlocks - used, kv.freeBlocks(), "free blocks: " + where());
            assertEquals(cached.size(), kv.cachedBlocks(), "cached blocks: " + where());
        }
    }
}
