package dev.llamaserve.engine.model;

import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import dev.llamaserve.engine.device.DevicePlanner;

/**
 * The scratch memory of {@code llama_step.py}'s attention ({@code new_workspace}), made once at load and reused by
 * every step: the float32 K and V of one tile of pages, their gather in the cache's dtype, the tile's scores, and
 * the output and its running sum. Attention sizes each tile to fit it, so a step allocates no large temporary: a
 * fresh tensor of more than a few MiB is new memory from the OS each time (glibc maps and unmaps large blocks) and
 * costs a page fault per 4 KiB when first written, which on the CPU took longer than the arithmetic (see
 * {@code StepProfileBenchmark}).
 *
 * @param kvTokens      tokens (of all sequences of a tile together) whose K or V one tile holds, whole pages
 * @param scoreElements float32 scores one tile holds (query rows × keys)
 * @param outElements   float32 elements of one call's output: a block of queries × heads × head_dim
 */
record AttentionWorkspace(long kvTokens, long scoreElements, long outElements) {

    /** One tile's K (or V) in float32: small enough to stay in a server CPU's last-level cache. */
    static final long KV_TILE_BYTES = 8L << 20;
    /** One tile's scores: 4 Mi float32 (a 512-token prefill chunk against 256 keys for 32 heads). */
    static final long SCORE_ELEMENTS = 4L << 20;
    /**
     * On CUDA, tiles four times as long ({@link LlamaModel#CUDA_ATTENTION_CHUNK_TOKENS}): a tile costs ~20 kernel
     * launches whatever its size, and with the CPU's tiles (chunks of 1,024 keys) a decode step of the 8B at 16K
     * tokens of context made 16 tiles per layer and ran at 4.6-6.1 tok/s on an H200 (2 tiles: 12-23 tok/s). 32 MiB
     * hold 8,192 tokens of the 8B's K in float32; the whole workspace is then 128 MiB, which {@code MemoryPlan}'s
     * step reserve counts ({@link LlamaModel#cudaAttentionWorkspaceBytes}).
     */
    static final long CUDA_KV_TILE_BYTES = 32L << 20;
    /** On CUDA, 8 Mi float32 scores (a block of 512 queries against 512 keys for 32 heads). */
    static final long CUDA_SCORE_ELEMENTS = 8L << 20;

    /** As {@link #of(ModelConfig, int, int, int, long, int, long, long)} with the CPU's tiles. */
    static AttentionWorkspace of(ModelConfig config, int pageSize, int maxChunkTokens, int queryBlock, long poolTokens,
                                 int chunkTokens) {
        return of(config, pageSize, maxChunkTokens, queryBlock, poolTokens, chunkTokens, KV_TILE_BYTES, SCORE_ELEMENTS);
    }

    /**
     * On a device of {@code kind}: CUDA's tiles on a GPU, the CPU's elsewhere, each against the chunks of keys that
     * attention reads there ({@link LlamaModel#attentionChunkTokens}).
     */
    static AttentionWorkspace forDevice(DevicePlanner.Kind kind, ModelConfig config, int pageSize, int maxChunkTokens,
                                        int queryBlock, long poolTokens) {
        int chunkTokens = LlamaModel.attentionChunkTokens(kind);
        return kind == DevicePlanner.Kind.CUDA
                ? of(config, pageSize, maxChunkTokens, queryBlock, poolTokens, chunkTokens, CUDA_KV_TILE_BYTES,
                        CUDA_SCORE_ELEMENTS)
                : of(config, pageSize, maxChunkTokens, queryBlock, poolTokens, chunkTokens);
    }

    /**
     * For a model whose KV pool holds {@code poolTokens}, whose steps carry at most {@code maxChunkTokens} new tokens
     * and whose attention calls take at most {@code queryBlock} queries of a prefill chunk: a K/V tile of
     * {@code kvTileBytes} in float32 (never more than the pool), {@code scoreElements} scores (never more than a
     * block's queries against {@code chunkTokens} keys), one call's output (a block of queries, or as many decoding
     * sequences; more sequences than that allocate theirs).
     */
    static AttentionWorkspace of(ModelConfig config, int pageSize, int maxChunkTokens, int queryBlock, long poolTokens,
                                 int chunkTokens, long kvTileBytes, long scoreElements) {
        long perToken = (long) config.numKeyValueHeads() * config.headDim() * 4;
        long kvTokens = Math.max(pageSize, Math.min(poolTokens, kvTileBytes / perToken) / pageSize * pageSize);
        long queries = Math.min(maxChunkTokens, queryBlock);
        long scores = Math.min(scoreElements, queries * config.numAttentionHeads() * chunkTokens);
        return new AttentionWorkspace(kvTokens, scores, queries * config.numAttentionHeads() * config.headDim());
    }

    /** Bytes it takes on the device. */
    long bytes(ModelConfig config, KvCacheDType kv) {
        long kvElements = kvTokens * config.numKeyValueHeads() * config.headDim();
        long gather = kvElements * kv.elementBytes();
        return 2 * kvElements * 4 + gather + (kv.fp8() ? kvElements : 0) + 4 * scoreElements + 2 * 4 * outElements;
    }

    /**
     * new_workspace's tensors as the List[Tensor] the step takes, kept as libtorch made it (one of them is float8,
     * a dtype DJL's arrays lack); the caller closes it.
     */
    IValue create(PtSymbolBlock module, int numKeyValueHeads, int headDim, KvCacheDType kv, String torchDevice) {
        return IValueUtils.runMethod(module, "new_workspace", IValue.from(kvTokens), IValue.from(scoreElements),
                IValue.from(outElements), IValue.from((long) numKeyValueHeads), IValue.from((long) headDim),
                IValue.from((long) kv.storageTorchCode()), IValue.from(kv.fp8()), IValue.from(torchDevice));
    }
}
