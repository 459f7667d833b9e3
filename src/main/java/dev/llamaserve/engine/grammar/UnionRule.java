package dev.llamaserve.engine.grammar;

/**
 * Any one of several rules ({@code anyOf}, disjoint {@code oneOf}, {@code type} unions, {@code $ref}):
 * state 0 calls the branches, state 1 is the end. Only productive branches are called.
 */
final class UnionRule extends Rule {

    Rule[] branches = NONE;
    private Rule[] live = NONE;

    UnionRule(String pointer) {
        super(pointer);
    }

    @Override
    long start() {
        return 0;
    }

    @Override
    long step(long state, int b) {
        return DEAD;
    }

    @Override
    boolean accepting(long state) {
        return state == 1;
    }

    @Override
    Rule[] calls(long state) {
        return state == 0 ? live : NONE;
    }

    @Override
    long resume(long state, Rule child, long childFinal) {
        return 1;
    }

    @Override
    boolean computeProductive() {
        boolean any = false;
        for (Rule r : branches) {
            any |= r.productive;
        }
        return any;
    }

    /** Keeps only the productive branches (after the productivity fixpoint). */
    void prune() {
        live = java.util.Arrays.stream(branches).filter(r -> r.productive).toArray(Rule[]::new);
    }
}
