package dev.llamaserve.engine.grammar;

/**
 * A JSON string whose decoded content is accepted by a code-point {@link Dfa} (trimmed: every state can
 * still end). Bytes are checked as the JSON encoding of that content: raw UTF-8 (valid, shortest form,
 * no surrogates, no control characters), the short escapes and {@code \\uXXXX} (not for surrogates).
 * A partial UTF-8 sequence or escape is accepted only while some code point it can still become is
 * allowed, so the matcher never dead-ends inside a character.
 *
 * <p>State layout: bits 0-2 phase, 3-4 bytes/digits left or read, 5-6 UTF-8 length - 2, 8-28 the code
 * point bits so far, 32+ the DFA state.
 */
final class StringRule extends Rule {

    private static final int OPEN = 0;
    private static final int BODY = 1;
    private static final int UTF8 = 2;
    private static final int ESC = 3;
    private static final int UHEX = 4;
    private static final int DONE = 5;

    final Dfa dfa;

    StringRule(String pointer, Dfa dfa) {
        super(pointer);
        this.dfa = dfa;
    }

    private static long pack(int phase, int k, int len, int acc, int d) {
        return phase | (k << 3) | (len << 5) | ((long) acc << 8) | ((long) d << 32);
    }

    @Override
    long start() {
        return OPEN;
    }

    @Override
    boolean accepting(long state) {
        return (state & 7) == DONE;
    }

    @Override
    boolean computeProductive() {
        return dfa != null;
    }

    @Override
    long canonical(long state, int horizon) {
        int d = (int) (state >>> 32);
        return (state & 0xFFFFFFFFL) | ((long) dfa.representatives(horizon)[d] << 32);
    }

    /** The tag of the DFA state a finished string ended in (which key was read). */
    int tagOf(long finalState) {
        return dfa.tag[(int) (finalState >>> 32)];
    }

    @Override
    long step(long state, int b) {
        int phase = (int) (state & 7);
        int k = (int) ((state >>> 3) & 3);
        int len = (int) ((state >>> 5) & 3) + 2;
        int acc = (int) ((state >>> 8) & 0x1FFFFF);
        int d = (int) (state >>> 32);
        switch (phase) {
            case OPEN:
                return b == '"' ? pack(BODY, 0, 0, 0, 0) : DEAD;
            case BODY:
                if (b == '"') {
                    return dfa.accept[d] ? pack(DONE, 0, 0, 0, d) : DEAD;
                }
                if (b == '\\') {
                    return dfa.anyIn(d, 0, 0xFFFF) ? pack(ESC, 0, 0, 0, d) : DEAD;
                }
                if (b < 0x20) {
                    return DEAD;
                }
                if (b < 0x80) {
                    return body(dfa.next(d, b));
                }
                if (b >= 0xC2 && b <= 0xDF) {
                    return partial(d, 2, 1, b & 0x1F);
                }
                if (b >= 0xE0 && b <= 0xEF) {
                    return partial(d, 3, 2, b & 0x0F);
                }
                if (b >= 0xF0 && b <= 0xF4) {
                    return partial(d, 4, 3, b & 0x07);
                }
                return DEAD;
            case UTF8:
                if ((b & 0xC0) != 0x80) {
                    return DEAD;
                }
                acc = (acc << 6) | (b & 0x3F);
                if (k == 1) {
                    return acc >= minOf(len) ? body(dfa.next(d, acc)) : DEAD;
                }
                return partial(d, len, k - 1, acc);
            case ESC:
                int cp = switch (b) {
                    case '"', '\\', '/' -> b;
                    case 'b' -> 8;
                    case 'f' -> 12;
                    case 'n' -> 10;
                    case 'r' -> 13;
                    case 't' -> 9;
                    default -> -1;
                };
                if (cp >= 0) {
                    return body(dfa.next(d, cp));
                }
                return b == 'u' ? pack(UHEX, 0, 0, 0, d) : DEAD;
            case UHEX:
                int v = Character.digit(b, 16);
                if (v < 0 || b > 'f') {
                    return DEAD;
                }
                acc = acc * 16 + v;
                if (k == 3) {
                    return body(dfa.next(d, acc));
                }
                int shift = 4 * (3 - k);
                return dfa.anyIn(d, acc << shift, ((acc + 1) << shift) - 1) ? pack(UHEX, k + 1, 0, acc, d) : DEAD;
            default:
                return DEAD;
        }
    }

    private static long body(int next) {
        return next < 0 ? DEAD : pack(BODY, 0, 0, 0, next);
    }

    private static int minOf(int len) {
        return len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    }

    /** A UTF-8 sequence of {@code len} bytes with {@code left} continuation bytes to come. */
    private long partial(int d, int len, int left, int acc) {
        int shift = 6 * left;
        int lo = Math.max(acc << shift, minOf(len));
        int hi = Math.min(((acc + 1) << shift) - 1, len == 2 ? 0x7FF : len == 3 ? 0xFFFF : CodePoints.MAX);
        return lo <= hi && dfa.anyIn(d, lo, hi) ? pack(UTF8, left, len - 2, acc, d) : DEAD;
    }
}
