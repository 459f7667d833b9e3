package dev.llamaserve.engine.model;

import java.util.Arrays;

/** Forward batches for benchmarks: {@code b} sequences decoding one token each over a KV pool of given slots. */
public final class DecodeBatches {

    private DecodeBatches() {
    }

    /**
     * {@code b} sequences of {@code min(ctx, kvSlots / b)} tokens each, laid one after another in the pool (whole
     * pages when {@code kvSlots / b} is a multiple of the page size), each decoding one token at its last position.
     */
    public static ForwardBatch of(int b, int ctx, int kvSlots) {
        int per = kvSlots / b;
        int len = Math.min(ctx, per);
        int[] ids = new int[b];
        int[] pos = new int[b];
        int[] slots = new int[b];
        int[] qs = new int[b];
        int[] ql = new int[b];
        int[][] context = new int[b][];
        for (int i = 0; i < b; i++) {
            ids[i] = 100 + i;
            pos[i] = len - 1;
            context[i] = new int[len];
            for (int p = 0; p < len; p++) {
                context[i][p] = i * per + p;
            }
            slots[i] = context[i][len - 1];
            qs[i] = i;
            ql[i] = 1;
        }
        int[] rows = new int[b];
        Arrays.setAll(rows, i -> i);
        return new ForwardBatch(ids, pos, slots, qs, ql, context, rows);
    }
}
