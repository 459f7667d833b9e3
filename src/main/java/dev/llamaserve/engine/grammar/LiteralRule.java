package dev.llamaserve.engine.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A finite set of byte strings (the compact JSON text of {@code enum}/{@code const} values,
 * {@code true}, {@code false}, {@code null}) as a byte trie; the state is the trie node.
 */
final class LiteralRule extends Rule {

    private final byte[][] keys;   // per node: child bytes, sorted
    private final int[][] next;    // per node: child nodes
    private final boolean[] terminal;

    LiteralRule(String pointer, List<byte[]> literals) {
        super(pointer);
        List<byte[]> k = new ArrayList<>();
        List<int[]> n = new ArrayList<>();
        List<Boolean> t = new ArrayList<>();
        k.add(new byte[0]);
        n.add(new int[0]);
        t.add(false);
        for (byte[] lit : literals) {
            int node = 0;
            for (byte b : lit) {
                int i = indexOf(k.get(node), b);
                if (i < 0) {
                    int child = k.size();
                    k.add(new byte[0]);
                    n.add(new int[0]);
                    t.add(false);
                    byte[] ks = Arrays.copyOf(k.get(node), k.get(node).length + 1);
                    int[] ns = Arrays.copyOf(n.get(node), ks.length);
                    ks[ks.length - 1] = b;
                    ns[ns.length - 1] = child;
                    k.set(node, ks);
                    n.set(node, ns);
                    node = child;
                } else {
                    node = n.get(node)[i];
                }
            }
            t.set(node, true);
        }
        keys = k.toArray(new byte[0][]);
        next = n.toArray(new int[0][]);
        terminal = new boolean[t.size()];
        for (int i = 0; i < terminal.length; i++) {
            terminal[i] = t.get(i);
        }
    }

    private static int indexOf(byte[] a, byte b) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == b) {
                return i;
            }
        }
        return -1;
    }

    @Override
    long start() {
        return 0;
    }

    @Override
    long step(long state, int b) {
        int i = indexOf(keys[(int) state], (byte) b);
        return i < 0 ? DEAD : next[(int) state][i];
    }

    @Override
    boolean accepting(long state) {
        return terminal[(int) state];
    }

    @Override
    boolean computeProductive() {
        return terminal.length > 1 || terminal[0];
    }
}
