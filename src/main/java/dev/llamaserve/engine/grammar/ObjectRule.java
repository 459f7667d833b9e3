package dev.llamaserve.engine.grammar;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * A JSON object. Declared properties come in schema order, each at most once: required ones always,
 * optional ones may be left out. After the declared ones (or instead of the optional rest) come any
 * number of additional properties when {@code additional} is set, with keys that are none of the
 * declared names (duplicate additional keys are not prevented). Up to {@code maxWs} whitespace bytes in
 * each gap.
 *
 * <p>The key is a {@link StringRule} over a key automaton built per position {@code i} (the next
 * declared property that may come): it accepts exactly the names that may come next, plus any
 * other name where additional properties may; the key's final automaton state tells which property
 * was read. State layout: bits 0-2 phase, 3-5 whitespace in the current gap, 8-27 {@code i}, 28-47 the
 * property being read ({@code n}: an additional one).
 */
final class ObjectRule extends Rule {

    private static final int START = 0;
    private static final int OPEN = 1;
    private static final int KEY = 2;
    private static final int COLON = 3;
    private static final int VALUE = 4;
    private static final int COMMA = 5;
    private static final int DONE = 6;

    final String[] names;
    final Rule[] values;
    final boolean[] required;
    Rule additional;
    private final int maxWs;
    private Rule[][] keyCalls;     // per i in 0..n
    private Rule[][] valueCalls;   // per j in 0..n
    private boolean[] closable;    // per i: no required property at or after i

    ObjectRule(String pointer, String[] names, boolean[] required, int maxWs) {
        super(pointer);
        this.names = names;
        this.values = new Rule[names.length];
        this.required = required;
        this.maxWs = maxWs;
    }

    @Override
    boolean computeProductive() {
        for (int j = 0; j < names.length; j++) {
            if (required[j] && !values[j].productive) {
                return false;
            }
        }
        return true;
    }

    /**
     * Most key-automaton states one schema may build: the automaton at each position holds the names that may
     * come there (all of them where additional properties may, to tell them apart), so an object of many optional
     * properties needs about their count times their names' length. Unbounded, 2,000 short optional names held
     * over a GB of heap per request; an object of required properties (OpenAI's strict form) needs only its
     * names' length.
     */
    static final long MAX_KEY_STATES = 200_000;

    /** What the key automata of one schema have used of {@link #MAX_KEY_STATES}. */
    static final class KeyBudget {
        private long used;

        void take(long states, String pointer) {
            used += states;
            if (used > MAX_KEY_STATES) {
                throw new UnsupportedSchemaException(pointer, "too many optional properties to enforce: their key"
                        + " automata would need over " + MAX_KEY_STATES + " states (make properties required, or"
                        + " fewer; at most " + MAX_KEY_STATES + " states for the whole schema)");
            }
        }
    }

    /** Builds the key automata (after the productivity fixpoint), within {@code budget}. */
    void link(String pointer, KeyBudget budget) {
        int n = names.length;
        closable = new boolean[n + 1];
        closable[n] = true;
        for (int i = n - 1; i >= 0; i--) {
            closable[i] = closable[i + 1] && !required[i];
        }
        boolean others = additional != null && additional.productive;
        keyCalls = new Rule[n + 1][];
        long allNames = trieBound(null);   // the same at every position where other keys may come
        for (int i = 0; i <= n; i++) {
            boolean[] candidate = new boolean[n];
            for (int j = i; j < n; j++) {
                candidate[j] = values[j].productive;
                if (required[j]) {
                    break;
                }
            }
            boolean othersHere = others && closable[i];
            budget.take(othersHere ? allNames : trieBound(candidate), pointer);
            Dfa keys = keyDfa(candidate, othersHere, pointer);
            keyCalls[i] = keys == null ? NONE : new Rule[] {new StringRule(pointer, keys)};
        }
        valueCalls = new Rule[n + 1][];
        for (int j = 0; j < n; j++) {
            valueCalls[j] = new Rule[] {values[j]};
        }
        valueCalls[n] = others ? new Rule[] {additional} : NONE;
    }

    /** Key rules, for the compiler to number and link. */
    List<Rule> keyRules() {
        List<Rule> out = new ArrayList<>();
        for (Rule[] k : keyCalls) {
            if (k.length > 0) {
                out.add(k[0]);
            }
        }
        return out;
    }

    /** At most the trie nodes of the names in {@code only} (null: all): their code points, and the root. */
    private long trieBound(boolean[] only) {
        long nodes = 2;
        for (int j = 0; j < names.length; j++) {
            if (only == null || only[j]) {
                nodes += names[j].codePointCount(0, names[j].length());
            }
        }
        return nodes;
    }

    /**
     * Code-point automaton of the keys that may come: candidate names, tagged by index; others tagged n. Where no
     * other key may come, only the candidates' names are in it (another declared name is refused either way).
     */
    private Dfa keyDfa(boolean[] candidate, boolean others, String pointer) {
        int n = names.length;
        List<TreeMap<Integer, Integer>> trie = new ArrayList<>();
        List<Integer> nameAt = new ArrayList<>();
        trie.add(new TreeMap<>());
        nameAt.add(-1);
        for (int j = 0; j < n; j++) {
            if (!others && !candidate[j]) {
                continue;
            }
            int node = 0;
            for (int cp : names[j].codePoints().toArray()) {
                Integer next = trie.get(node).get(cp);
                if (next == null) {
                    next = trie.size();
                    trie.add(new TreeMap<>());
                    nameAt.add(-1);
                    trie.get(node).put(cp, next);
                }
                node = next;
            }
            nameAt.set(node, j);
        }
        int free = trie.size();
        Dfa.Builder b = new Dfa.Builder(pointer);
        for (int t = 0; t < trie.size(); t++) {
            int j = nameAt.get(t);
            b.add(j >= 0 ? candidate[j] : others, j >= 0 ? j : n);
        }
        if (others) {
            b.add(true, n);
        }
        for (int t = 0; t < trie.size(); t++) {
            TreeMap<Integer, Integer> children = trie.get(t);
            int[] childSet = new int[children.size() * 2];
            int k = 0;
            for (int cp : children.keySet()) {
                childSet[k++] = cp;
                childSet[k++] = cp;
            }
            int[] rest = others ? CodePoints.minus(CodePoints.ANY, CodePoints.normalize(childSet, k)) : new int[0];
            List<int[]> triples = new ArrayList<>();
            children.forEach((cp, c) -> triples.add(new int[] {cp, cp, c}));
            for (int r = 0; r < rest.length; r += 2) {
                triples.add(new int[] {rest[r], rest[r + 1], free});
            }
            triples.sort((x, y) -> Integer.compare(x[0], y[0]));
            int[] flat = new int[triples.size() * 3];
            for (int i = 0; i < triples.size(); i++) {
                System.arraycopy(triples.get(i), 0, flat, 3 * i, 3);
            }
            b.set(t, flat, flat.length);
        }
        if (others) {
            int[] any = CodePoints.ANY;
            b.set(free, new int[] {any[0], any[1], free, any[2], any[3], free}, 6);
        }
        return b.build().trim();
    }

    private static long pack(int phase, int ws, int i, int j) {
        return phase | (ws << 3) | ((long) i << 8) | ((long) j << 28);
    }

    @Override
    long start() {
        return START;
    }

    @Override
    boolean accepting(long state) {
        return (state & 7) == DONE;
    }

    @Override
    long step(long state, int b) {
        int phase = (int) (state & 7);
        int ws = (int) ((state >>> 3) & 7);
        int i = (int) ((state >>> 8) & 0xFFFFF);
        int j = (int) ((state >>> 28) & 0xFFFFF);
        if (phase == START) {
            return b == '{' ? pack(OPEN, 0, 0, 0) : DEAD;
        }
        if (phase == DONE) {
            return DEAD;
        }
        if (b == ' ' || b == '\n' || b == '\t') {
            return ws < maxWs ? pack(phase, ws + 1, i, j) : DEAD;
        }
        if (b == '}' && (phase == OPEN || phase == VALUE)) {
            return closable[i] ? pack(DONE, 0, 0, 0) : DEAD;
        }
        if (b == ',' && phase == VALUE) {
            return keyCalls[i].length > 0 ? pack(COMMA, 0, i, 0) : DEAD;
        }
        if (b == ':' && phase == KEY) {
            return pack(COLON, 0, i, j);
        }
        return DEAD;
    }

    @Override
    Rule[] calls(long state) {
        int phase = (int) (state & 7);
        if (phase == OPEN || phase == COMMA) {
            return keyCalls[(int) ((state >>> 8) & 0xFFFFF)];
        }
        if (phase == COLON) {
            return valueCalls[(int) ((state >>> 28) & 0xFFFFF)];
        }
        return NONE;
    }

    @Override
    long resume(long state, Rule child, long childFinal) {
        int phase = (int) (state & 7);
        int i = (int) ((state >>> 8) & 0xFFFFF);
        int j = (int) ((state >>> 28) & 0xFFFFF);
        if (phase == COLON) {
            return pack(VALUE, 0, j < names.length ? j + 1 : names.length, 0);
        }
        return pack(KEY, 0, i, ((StringRule) child).tagOf(childFinal));
    }
}
