package dev.llamaserve.engine.model;

/**
 * The {@code rope_scaling} block of {@code config.json}.
 *
 * @param kind how inverse frequencies are scaled
 * @param factor scale factor (llama3, linear); 1 for default
 * @param lowFreqFactor llama3 only
 * @param highFreqFactor llama3 only
 * @param originalMaxPositionEmbeddings llama3 only: the pre-training context (8192 for Llama 3.1)
 */
public record RopeScaling(Kind kind, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositionEmbeddings) {

    public enum Kind { DEFAULT, LINEAR, LLAMA3 }

    public static final RopeScaling NONE = new RopeScaling(Kind.DEFAULT, 1.0, 0, 0, 0);

    /**
     * Inverse frequencies of rotate-half RoPE, {@code [head_dim / 2]}, with this scaling applied
     * exactly as transformers' {@code _compute_llama3_parameters} / {@code _compute_linear_scaling_rope_parameters}.
     */
    public double[] inverseFrequencies(double ropeTheta, int headDim) {
        int half = headDim / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(ropeTheta, (2.0 * i) / headDim);
        }
        switch (kind) {
            case DEFAULT -> { }
            case LINEAR -> {
                for (int i = 0; i < half; i++) {
                    inv[i] /= factor;
                }
            }
            case LLAMA3 -> {
                double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
                double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
                for (int i = 0; i < half; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen > lowFreqWavelen) {
                        inv[i] = inv[i] / factor;
                    } else if (wavelen >= highFreqWavelen) {
                        double smooth = (originalMaxPositionEmbeddings / wavelen - lowFreqFactor)
                                / (highFreqFactor - lowFreqFactor);
                        inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
                    }
                }
            }
        }
        return inv;
    }
}
