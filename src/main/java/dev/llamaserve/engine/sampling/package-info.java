/**
 * Per-request sampling on float logits rows (pure Java): logits processing (bias, min_tokens,
 * penalties), greedy or temperature / min_p / top_k / top_p sampling with linear-time selection, raw
 * logprobs, and stop strings matched on decoded text across token boundaries.
 */
package dev.llamaserve.engine.sampling;
