package dev.llamaserve.engine.sampling;

/**
 * Scratch arrays of vocabulary size shared by the samplers of one engine thread (so a step allocates
 * nothing per request). Not thread-safe.
 */
public final class SamplerWorkspace {

    final float[] values;
    final int[] index;

    public SamplerWorkspace(int vocabSize) {
        values = new float[vocabSize];
        index = new int[vocabSize];
    }

    public int vocabSize() {
        return values.length;
    }
}
