package dev.llamaserve.engine.grammar;

/**
 * A JSON array: {@code prefixItems} then {@code items} (null: no further items), between
 * {@code minItems} and {@code maxItems} ({@code -1}: unbounded) items, up to {@code maxWs} whitespace
 * bytes in each gap. The item count is kept only up to where it stops mattering, so states repeat and
 * masks can be cached.
 *
 * <p>State layout: bits 0-2 phase, 3-5 whitespace in the current gap, 8+ item count.
 */
final class ArrayRule extends Rule {

    private static final int START = 0;
    private static final int OPEN = 1;
    private static final int VALUE = 2;
    private static final int COMMA = 3;
    private static final int DONE = 4;

    Rule[] prefix = NONE;
    Rule items;
    final int minItems;
    final int maxItems;
    private final int maxWs;
    private int countCap;
    private Rule[][] callsAt;

    ArrayRule(String pointer, int minItems, int maxItems, int maxWs) {
        super(pointer);
        this.minItems = minItems;
        this.maxItems = maxItems;
        this.maxWs = maxWs;
    }

    /** Called once children are set. */
    void link() {
        countCap = maxItems >= 0 ? maxItems : Math.max(prefix.length, minItems);
        callsAt = new Rule[prefix.length + 1][];
        for (int k = 0; k <= prefix.length; k++) {
            callsAt[k] = item(k) == null ? NONE : new Rule[] {item(k)};
        }
    }

    private Rule item(int k) {
        return k < prefix.length ? prefix[k] : items;
    }

    private boolean canAdd(int k) {
        Rule r = item(k);
        return (maxItems < 0 || k < maxItems) && r != null && r.productive;
    }

    private static long pack(int phase, int ws, int count) {
        return phase | (ws << 3) | ((long) count << 8);
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
    boolean computeProductive() {
        if (maxItems >= 0 && minItems > maxItems) {
            return false;
        }
        for (int k = 0; k < minItems; k++) {
            if (!canAdd(k)) {
                return false;
            }
        }
        return true;
    }

    @Override
    long step(long state, int b) {
        int phase = (int) (state & 7);
        int ws = (int) ((state >>> 3) & 7);
        int count = (int) (state >>> 8);
        if (phase == START) {
            return b == '[' ? pack(OPEN, 0, 0) : DEAD;
        }
        if (phase == DONE) {
            return DEAD;
        }
        if (b == ' ' || b == '\n' || b == '\t') {
            return ws < maxWs ? pack(phase, ws + 1, count) : DEAD;
        }
        if (b == ']' && (phase == OPEN || phase == VALUE)) {
            return count >= minItems ? pack(DONE, 0, 0) : DEAD;
        }
        if (b == ',' && phase == VALUE) {
            return canAdd(count) ? pack(COMMA, 0, count) : DEAD;
        }
        return DEAD;
    }

    @Override
    Rule[] calls(long state) {
        int phase = (int) (state & 7);
        int count = (int) (state >>> 8);
        if ((phase == OPEN || phase == COMMA) && canAdd(count)) {
            return callsAt[Math.min(count, prefix.length)];
        }
        return NONE;
    }

    @Override
    long resume(long state, Rule child, long childFinal) {
        int count = (int) (state >>> 8);
        return pack(VALUE, 0, Math.min(count + 1, countCap));
    }
}
