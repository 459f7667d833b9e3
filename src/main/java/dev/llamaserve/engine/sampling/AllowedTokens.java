package dev.llamaserve.engine.sampling;

/**
 * The grammar hook of sampling: a mask of allowed token ids (bit {@code id & 63} of word
 * {@code id >>> 6}, as {@code engine.grammar.TokenMasker} computes it) applied to a processed logits
 * row before temperature, top-k/top-p and the draw, so those work inside the allowed set.
 */
public final class AllowedTokens {

    private AllowedTokens() {}

    /** Sets every disallowed logit of {@code x[0, vocab)} to -inf; returns whether any allowed one is finite. */
    public static boolean apply(float[] x, int vocab, long[] allowed) {
        boolean any = false;
        for (int w = 0; w * 64 < vocab; w++) {
            long bits = w < allowed.length ? allowed[w] : 0;
            int base = w * 64;
            int end = Math.min(64, vocab - base);
            for (int i = 0; i < end; i++) {
                if ((bits & (1L << i)) == 0) {
                    x[base + i] = Float.NEGATIVE_INFINITY;
                } else if (x[base + i] != Float.NEGATIVE_INFINITY) {
                    any = true;
                }
            }
        }
        return any;
    }
}
