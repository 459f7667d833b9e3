package dev.llamaserve.engine.grammar;

/**
 * A JSON number {@code -?(0|[1-9][0-9]*)(\.[0-9]+)?} with at most {@link #INT_DIGITS} integer digits
 * and {@link #FRAC_DIGITS} fraction digits, no exponent and no {@code -0}; for {@code integer} no
 * fraction. Bounds ({@code minimum}, {@code maximum}, exclusive forms) are enforced exactly: a digit is
 * accepted only while some completion of the number lies within them, and a fraction is started only
 * where every fraction of that integer part does.
 *
 * <p>State layout: bits 0-2 phase, 3 negative, 4-8 integer digits, 9-13 fraction digits, 14+ magnitude.
 */
final class NumberRule extends Rule {

    static final int INT_DIGITS = 15;
    static final int FRAC_DIGITS = 9;
    static final long MAX_MAGNITUDE = 999_999_999_999_999L;
    private static final long[] POW10 = new long[INT_DIGITS + 1];

    static {
        POW10[0] = 1;
        for (int i = 1; i <= INT_DIGITS; i++) {
            POW10[i] = POW10[i - 1] * 10;
        }
    }

    private static final int START = 0;
    private static final int MINUS = 1;
    private static final int INT = 2;
    private static final int ZERO = 3;
    private static final int DOT = 4;
    private static final int FRAC = 5;

    private final boolean integer;
    private final long lo;          // inclusive integer bounds
    private final long hi;
    private final double loReal;    // real bounds for fractions
    private final boolean loExclusive;
    private final double hiReal;
    private final boolean hiExclusive;

    NumberRule(String pointer, boolean integer, double loReal, boolean loExclusive, double hiReal, boolean hiExclusive) {
        super(pointer);
        this.integer = integer;
        this.loReal = loReal;
        this.loExclusive = loExclusive;
        this.hiReal = hiReal;
        this.hiExclusive = hiExclusive;
        double l = Math.ceil(loReal);
        if (loExclusive && l == loReal) {
            l += 1;
        }
        double h = Math.floor(hiReal);
        if (hiExclusive && h == hiReal) {
            h -= 1;
        }
        this.lo = (long) Math.max(l, -MAX_MAGNITUDE);
        this.hi = (long) Math.min(h, MAX_MAGNITUDE);
    }

    private static long pack(int phase, boolean neg, int intLen, int fracLen, long m) {
        return phase | (neg ? 8 : 0) | (intLen << 4) | (fracLen << 9) | (m << 14);
    }

    @Override
    long start() {
        return START;
    }

    @Override
    boolean computeProductive() {
        return lo <= hi;
    }

    @Override
    boolean accepting(long state) {
        int phase = (int) (state & 7);
        if (phase == FRAC) {
            return true;
        }
        if (phase == INT || phase == ZERO) {
            long v = (state & 8) != 0 ? -(state >>> 14) : state >>> 14;
            return v >= lo && v <= hi;
        }
        return false;
    }

    @Override
    long step(long state, int b) {
        int phase = (int) (state & 7);
        boolean neg = (state & 8) != 0;
        int intLen = (int) ((state >>> 4) & 31);
        int fracLen = (int) ((state >>> 9) & 31);
        long m = state >>> 14;
        boolean digit = b >= '0' && b <= '9';
        int d = b - '0';
        switch (phase) {
            case START:
                if (b == '-') {
                    return overlaps(-MAX_MAGNITUDE, -1) ? pack(MINUS, true, 0, 0, 0) : DEAD;
                }
                if (b == '0') {
                    return overlaps(0, 0) ? pack(ZERO, false, 1, 0, 0) : DEAD;
                }
                return digit && live(false, d, 1) ? pack(INT, false, 1, 0, d) : DEAD;
            case MINUS:
                return digit && d > 0 && live(true, d, 1) ? pack(INT, true, 1, 0, d) : DEAD;
            case INT:
                if (digit) {
                    return intLen < INT_DIGITS && live(neg, m * 10 + d, intLen + 1)
                            ? pack(INT, neg, intLen + 1, 0, m * 10 + d) : DEAD;
                }
                return b == '.' && fractionAllowed(neg, m) ? pack(DOT, false, 0, 0, 0) : DEAD;
            case ZERO:
                return b == '.' && fractionAllowed(false, 0) ? pack(DOT, false, 0, 0, 0) : DEAD;
            case DOT:
                return digit ? pack(FRAC, false, 0, 1, 0) : DEAD;
            case FRAC:
                return digit && fracLen < FRAC_DIGITS ? pack(FRAC, false, 0, fracLen + 1, 0) : DEAD;
            default:
                return DEAD;
        }
    }

    /** Some number with this integer-digit prefix (magnitude {@code m}, {@code len} digits) is in range. */
    private boolean live(boolean neg, long m, int len) {
        for (int j = 0; j + len <= INT_DIGITS; j++) {
            long a = m * POW10[j];
            long z = a + POW10[j] - 1;
            if (neg ? overlaps(-z, -a) : overlaps(a, z)) {
                return true;
            }
            if (m == 0) {
                return false; // "0" takes no more digits
            }
        }
        return false;
    }

    private boolean overlaps(long a, long z) {
        return a <= hi && z >= lo;
    }

    /** Every value with this integer part and a fraction lies within the real bounds. */
    private boolean fractionAllowed(boolean neg, long m) {
        if (integer) {
            return false;
        }
        double low = neg ? -(m + 1.0) : m;     // values lie in [m, m+1) or (-(m+1), -m]
        double high = neg ? -(double) m : m + 1.0;
        boolean lowOk = neg ? low >= loReal : (loExclusive ? low > loReal : low >= loReal);
        boolean highOk = neg ? (hiExclusive ? high < hiReal : high <= hiReal) : high <= hiReal;
        return lowOk && highOk;
    }
}
