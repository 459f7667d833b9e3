package dev.llamaserve.engine.model;

/**
 * Rows of logits as the quality checks read them: log-softmax over a whole row, its argmax and its top-2 margin, for
 * any vocabulary size (the tiny fixture's 768, the bench shape's 128,256). Shared by the quality tests and the bench.
 */
public final class LogitRows {

    private LogitRows() {
    }

    /** log-softmax of a whole row, in double. */
    public static double[] logSoftmax(double[] x) {
        double mx = Double.NEGATIVE_INFINITY;
        for (double v : x) {
            mx = Math.max(mx, v);
        }
        double s = 0;
        for (double v : x) {
            s += Math.exp(v - mx);
        }
        double lse = mx + Math.log(s);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] - lse;
        }
        return out;
    }

    /** log-softmax of row [offset, offset + n) of {@code v}, in double. */
    public static double[] logSoftmax(float[] v, int offset, int n) {
        return logSoftmax(row(v, offset, n));
    }

    /** Index of the largest of row [offset, offset + n) of {@code v} (the first, on a tie). */
    public static int argmax(float[] v, int offset, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (v[offset + i] > v[offset + best]) {
                best = i;
            }
        }
        return best;
    }

    /** Index of the largest of {@code v} (the first, on a tie). */
    public static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** {@link #margin(double[])} of row [offset, offset + n) of {@code v}. */
    public static double margin(float[] v, int offset, int n) {
        return margin(row(v, offset, n));
    }

    /** The largest value less the second largest: how clear the argmax is. */
    public static double margin(double[] v) {
        double top1 = Double.NEGATIVE_INFINITY;
        double top2 = Double.NEGATIVE_INFINITY;
        for (double x : v) {
            if (x > top1) {
                top2 = top1;
                top1 = x;
            } else if (x > top2) {
                top2 = x;
            }
        }
        return top1 - top2;
    }

    /** Row [offset, offset + n) of {@code v}, in double. */
    public static double[] row(float[] v, int offset, int n) {
        double[] row = new double[n];
        for (int i = 0; i < n; i++) {
            row[i] = v[offset + i];
        }
        return row;
    }
}
