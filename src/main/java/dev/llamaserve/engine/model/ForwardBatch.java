package dev.llamaserve.engine.model;

import java.util.Objects;

/**
 * One model step for a batch of sequences. The {@code T} new tokens of all sequences are laid out
 * sequence after sequence; sequence {@code b} owns rows {@code [queryStart[b], queryStart[b] + queryLen[b])}.
 * A prefill chunk and a one-token decode step are the same thing: a sequence with {@code queryLen}
 * new tokens after {@code contextLen - queryLen} tokens already in the KV cache.
 *
 * <p>The KV cache is one pool of {@code kvSlots} token slots per layer. {@code slotMapping[t]} is the
 * slot where token {@code t}'s K and V are written; {@code kvSlots[b]} lists the slots of sequence
 * {@code b}'s whole context (cached tokens and the new ones) in position order, so that
 * {@code kvSlots[b][p]} holds position {@code p}. The context must lie in whole pages of
 * {@link CausalLm#kvBlockSize()} slots ({@code slot = page × size + p % size}, as a block table expands): the
 * model turns the list back into one page table per sequence and reads the pages in place.
 *
 * @param tokenIds [T] new token ids
 * @param positions [T] absolute position of each new token in its sequence
 * @param slotMapping [T] KV slot each new token's K/V is written to
 * @param queryStart [B] first row of each sequence in the new tokens
 * @param queryLen [B] new tokens of each sequence (≥ 1)
 * @param contextSlots [B][contextLen_b] slots of each sequence's context, position order
 * @param logitRows rows of T whose next-token logits are returned, in this order
 */
public record ForwardBatch(
        int[] tokenIds,
        int[] positions,
        int[] slotMapping,
        int[] queryStart,
        int[] queryLen,
        int[][] contextSlots,
        int[] logitRows) {

    public ForwardBatch {
        Objects.requireNonNull(tokenIds);
        if (positions.length != tokenIds.length || slotMapping.length != tokenIds.length) {
            throw new IllegalArgumentException("tokenIds, positions and slotMapping differ in length");
        }
        if (queryStart.length != queryLen.length || contextSlots.length != queryLen.length) {
            throw new IllegalArgumentException("queryStart, queryLen and contextSlots differ in length");
        }
    }

    public int numTokens() {
        return tokenIds.length;
    }

    public int numSequences() {
        return queryLen.length;
    }

    /**
     * A single sequence whose KV occupies slots {@code 0..}: the first {@code start} positions are
     * cached, and {@code ids} are new. Returns logits for every new token when {@code allLogits}, else
     * for the last one. Used by tests and simple callers.
     */
    public static ForwardBatch contiguous(int[] ids, int start, boolean allLogits) {
        int n = ids.length;
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) {
            pos[i] = start + i;
        }
        int[] ctx = new int[start + n];
        for (int i = 0; i < ctx.length; i++) {
            ctx[i] = i;
        }
        int[] rows;
        if (allLogits) {
            rows = new int[n];
            for (int i = 0; i < n; i++) {
                rows[i] = i;
            }
        } else {
            rows = new int[] {n - 1};
        }
        return new ForwardBatch(ids.clone(), pos, pos.clone(), new int[] {0}, new int[] {n},
                new int[][] {ctx}, rows);
    }
}
