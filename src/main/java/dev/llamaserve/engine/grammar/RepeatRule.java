package dev.llamaserve.engine.grammar;

/**
 * One or more of {@code item}, separated by the bytes of {@code separator} (parallel tool calls:
 * {@code {…}; {…}}). State 0 calls the item, 1 is after an item (may end), 2 + k has read k bytes of the
 * separator (when all are read, it calls the next item).
 */
final class RepeatRule extends Rule {

    private final Rule item;
    private final byte[] separator;
    private final Rule[] callItem;

    RepeatRule(String pointer, Rule item, byte[] separator) {
        super(pointer);
        if (separator.length == 0) {
            throw new IllegalArgumentException("empty separator");
        }
        this.item = item;
        this.separator = separator.clone();
        this.callItem = new Rule[] {item};
    }

    @Override
    long start() {
        return 0;
    }

    @Override
    long step(long state, int b) {
        if (state == 0) {
            return DEAD;
        }
        int read = (int) state - 1; // state 1: none read yet
        if (read >= separator.length) {
            return DEAD;
        }
        return (separator[read] & 0xFF) == b ? state + 1 : DEAD;
    }

    @Override
    boolean accepting(long state) {
        return state == 1;
    }

    @Override
    Rule[] calls(long state) {
        return state == 0 || state == separator.length + 1 ? callItem : NONE;
    }

    @Override
    long resume(long state, Rule child, long childFinal) {
        return 1;
    }

    @Override
    boolean computeProductive() {
        return item.productive;
    }
}
