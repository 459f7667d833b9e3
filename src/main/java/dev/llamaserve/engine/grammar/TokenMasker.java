package dev.llamaserve.engine.grammar;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Computes the allowed-token mask of a {@link GrammarState} over a vocabulary: a walk of the
 * vocabulary's {@link TokenTrie} with the automaton, pruning a subtree at its first rejected byte.
 * End-of-sequence ids are allowed exactly where the document is complete; other tokens without bytes
 * never. Masks are cached per state (states compare by value, string automaton states up to their
 * behaviour on the longest token: see {@link Dfa#representatives}), so the repeated states of a long
 * string, bounded or not, or of a list of similar objects cost one walk. One masker serves one vocabulary and any number
 * of grammars; the walk scratch is per call, the cache is synchronized.
 */
public final class TokenMasker {

    /**
     * The most configuration steps one mask may take (a step: one configuration added to a set, or up to 8 looked
     * at to find it there): 5–16 ns each, so at most about a third of a second of the engine thread. The test
     * corpus's costliest mask takes under 1,000 (most bytes take the one-configuration fast path, which is not
     * counted and is bounded by the trie), a union of 300 object variants read inside their shared first field 1.2
     * million on the tiny fixture's vocabulary; beyond this the request fails ({@link GrammarTooAmbiguousException})
     * instead of holding every other request's step.
     */
    static final long MAX_MASK_WORK = 20_000_000L;

    private final long maxMaskWork;

    private final TokenTrie trie;
    private final int[] eosIds;
    private final int words;
    private final long[] eosMask;
    private final Map<GrammarState, long[]> cache;

    /**
     * @param trie the vocabulary's trie (build once per tokenizer)
     * @param eosIds the end-of-sequence token ids (e.g. {@code <|eot_id|>}, {@code <|end_of_text|>})
     * @param cacheEntries masks kept (each {@code vocab/8} bytes: 16 KiB for 128k tokens)
     */
    public TokenMasker(TokenTrie trie, int[] eosIds, int cacheEntries) {
        this(trie, eosIds, cacheEntries, MAX_MASK_WORK);
    }

    /** A masker whose masks take at most {@code maxMaskWork} configuration steps each (tests). */
    TokenMasker(TokenTrie trie, int[] eosIds, int cacheEntries, long maxMaskWork) {
        this.maxMaskWork = maxMaskWork;
        this.trie = trie;
        this.eosIds = eosIds.clone();
        this.words = (trie.vocabSize + 63) >>> 6;
        this.eosMask = new long[words];
        for (int id : eosIds) {
            eosMask[id >>> 6] |= 1L << id;
        }
        this.cache = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<GrammarState, long[]> eldest) {
                return size() > cacheEntries;
            }
        };
    }

    byte[] tokenBytes(int id) {
        return trie.tokenBytes(id);
    }

    public int vocabSize() {
        return trie.vocabSize;
    }

    /** A new matcher for one sequence constrained by {@code grammar}. */
    public GrammarMatcher matcher(Grammar grammar) {
        return new GrammarMatcher(this, grammar.initialState());
    }

    /**
     * The allowed tokens in {@code state}: bit {@code id} of word {@code id >>> 6}. The array is shared
     * with the cache: do not modify it.
     */
    public long[] mask(GrammarState state) {
        GrammarState key = state.canonical(trie.maxDepth);
        synchronized (cache) {
            long[] m = cache.get(key);
            if (m != null) {
                return m;
            }
        }
        long[] m = compute(state);
        synchronized (cache) {
            cache.put(key, m);
        }
        return m;
    }

    /** Whether {@code mask} allows a token other than the end-of-sequence ids (the document can go on). */
    boolean allowsMoreThanEos(long[] mask) {
        for (int w = 0; w < mask.length; w++) {
            if ((mask[w] & ~eosMask[w]) != 0) {
                return true;
            }
        }
        return false;
    }

    /** The mask without the cache (for benchmarks and tests). */
    public long[] compute(GrammarState state) {
        long[] mask = new long[words];
        Configs[] level = new Configs[trie.maxDepth + 2];
        long[] budget = {maxMaskWork, maxMaskWork};
        for (int i = 0; i < level.length; i++) {
            level[i] = new Configs();
            level[i].budget = budget;
        }
        state.into(level[0]);
        walk(0, 0, level, mask);
        if (state.isComplete()) {
            for (int id : eosIds) {
                mask[id >>> 6] |= 1L << id;
            }
        }
        return mask;
    }

    private void walk(int node, int depth, Configs[] level, long[] mask) {
        Configs cur = level[depth];
        Configs next = level[depth + 1];
        int[] childStart = trie.childStart;
        // Fast path: one configuration that can neither call nor return here (inside a string, a
        // number, a literal): each byte is one step of its rule, no stack work and no set.
        Rule single = cur.size == 1 && cur.rules[0].calls(cur.states[0]).length == 0
                && !(cur.parents[0] != null && cur.rules[0].accepting(cur.states[0])) ? cur.rules[0] : null;
        for (int c = childStart[node]; c < childStart[node + 1]; c++) {
            if (single != null) {
                long t = single.step(cur.states[0], trie.childByte[c] & 0xFF);
                if (t == Rule.DEAD) {
                    continue;
                }
                next.clear(); // drops an index left from a wide set at this depth
                next.size = 1;
                next.rules[0] = single;
                next.states[0] = t;
                next.parents[0] = cur.parents[0];
            } else {
                cur.stepAll(trie.childByte[c] & 0xFF, next);
                if (next.size == 0) {
                    continue;
                }
            }
            int n = trie.child[c];
            for (int t = trie.tokenStart[n]; t < trie.tokenStart[n + 1]; t++) {
                int id = trie.tokens[t];
                mask[id >>> 6] |= 1L << id;
            }
            if (childStart[n] < childStart[n + 1]) {
                walk(n, depth + 1, level, mask);
            }
        }
    }
}
