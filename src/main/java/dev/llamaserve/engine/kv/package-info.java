/**
 * The KV cache's bookkeeping (pure Java). The model allocates one pool of token slots at startup from
 * the memory plan; {@link dev.llamaserve.engine.kv.BlockManager} carves it into fixed-size blocks
 * (16 tokens by default) with a free list and a block table per sequence, so sequences take KV as they
 * grow and any free block serves any sequence: with a budget of 2 × max-model-len tokens, 16 requests
 * of 256 tokens run at once, where slots of max-model-len would admit 2.
 */
package dev.llamaserve.engine.kv;
