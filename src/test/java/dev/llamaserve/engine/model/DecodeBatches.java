package dev.llamaserve.engine.model;

import java.util.Arrays;

/**
 * Forward batches for benchmarks and tests: {@code b} sequences decoding one token each over a KV pool of given
 * slots, and one of them alone.
 */
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

    /** Sequence {@code i} of a decode batch ({@link #of}) as a batch of its own: the same token, position and KV. */
    public static ForwardBatch alone(ForwardBatch all, int i) {
        return new ForwardBatch(new int[] {all.tokenIds()[i]}, new int[] {all.positions()[i]},
                new int[] {all.slotMapping()[i]}, new int[] {0}, new int[] {1}, new int[][] {all.contextSlots()[i]},
                new int[] {0});
    }
}
