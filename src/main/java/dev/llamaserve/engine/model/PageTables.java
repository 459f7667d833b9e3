package dev.llamaserve.engine.model;

/**
 * The batch's contexts as page tables for {@code llama_step.py}: sequence {@code b}'s position {@code p} lies in
 * slot {@code tables[b][p / pageSize] * pageSize + p % pageSize}. Fails when a context is not laid out in whole
 * pages (a block manager whose block size is a multiple of the page size always lays it out so) or leaves the pool.
 *
 * @param tables [B × width] page ids, row-major, rows padded with page 0 (attention masks what lies past a context)
 * @param contextLen [B] context tokens of each sequence
 * @param decodeSeqs [Bd] the sequences with one new token, attended together in one batch
 * @param decodeRows [Bd] their rows among the new tokens
 * @param decodePages the most pages one of them reads (0 when there are none)
 */
record PageTables(long[] tables, int width, long[] contextLen, long[] decodeSeqs, long[] decodeRows, int decodePages) {

    /**
     * @param pageSize slots per page
     * @param kvSlots slots a context may use
     * @param pool pages in the cache
     */
    static PageTables of(ForwardBatch batch, int pageSize, int kvSlots, long pool) {
        int b = batch.numSequences();
        int width = 1;
        int decoders = 0;
        for (int i = 0; i < b; i++) {
            width = Math.max(width, (batch.contextSlots()[i].length + pageSize - 1) / pageSize);
            decoders += batch.queryLen()[i] == 1 ? 1 : 0;
        }
        long[] tables = new long[b * width];
        long[] contextLen = new long[b];
        long[] decodeSeqs = new long[decoders];
        long[] decodeRows = new long[decoders];
        int decodePages = 0;
        for (int i = 0, d = 0; i < b; i++) {                            // the hot path's longest loop: one pass
            int[] ctx = batch.contextSlots()[i];
            int pages = (ctx.length + pageSize - 1) / pageSize;
            for (int p = 0; p < ctx.length; p++) {
                int s = ctx[p];
                if (s < 0 || s >= kvSlots) {
                    throw new IllegalArgumentException("sequence " + i + ": context slot " + s
                            + " outside the KV pool [0, " + kvSlots + ")");
                }
                int offset = p % pageSize;
                if (offset == 0) {
                    if (s % pageSize != 0 || s / pageSize >= pool) {
                        throw new IllegalArgumentException("sequence " + i + ": position " + p + " in slot " + s
                                + ", not at the start of a " + pageSize + "-slot page");
                    }
                    tables[i * width + p / pageSize] = s / pageSize;
                } else if (s != tables[i * width + p / pageSize] * pageSize + offset) {
                    throw new IllegalArgumentException("sequence " + i + ": position " + p + " in slot " + s
                            + ", not in its page's slot " + (tables[i * width + p / pageSize] * pageSize + offset)
                            + " (contexts lie in whole " + pageSize + "-slot pages)");
                }
            }
            contextLen[i] = ctx.length;
            if (batch.queryLen()[i] == 1) {
                decodeSeqs[d] = i;
                decodeRows[d++] = batch.queryStart()[i];
                decodePages = Math.max(decodePages, pages);
            }
        }
        return new PageTables(tables, width, contextLen, decodeSeqs, decodeRows, decodePages);
    }
}
