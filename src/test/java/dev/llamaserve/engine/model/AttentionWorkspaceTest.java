package dev.llamaserve.engine.model;

import static dev.llamaserve.engine.model.TinyFixture.fixture;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.device.DevicePlanner;
import org.junit.jupiter.api.Test;

/** The attention workspace's sizes: what a tile holds and what it costs, for Llama-3.1-8B and a small pool. */
class AttentionWorkspaceTest {

    private static final ModelConfig LLAMA_8B = ModelConfigParser.parse(fixture("llama-3.1-8b-instruct/config.json"));

    @Test
    void llama8bTilesHold2048TokensOfKvAndCost52MiB() {
        AttentionWorkspace w = AttentionWorkspace.of(LLAMA_8B, 16, 2048, 512, 131_072, 1024);
        // 8 KV heads x 128 dims x 4 bytes = 4 KiB per token in float32: 8 MiB hold 2,048 tokens
        assertThat(w.kvTokens()).isEqualTo(2048);
        assertThat(w.scoreElements()).isEqualTo(4L << 20);
        assertThat(w.outElements()).as("a block of 512 queries, not the 2,048-token chunk").isEqualTo(512L * 32 * 128);
        // K and V tiles 8 + 8 MiB, the bf16 gather 4, scores 16, output and its sum 8 + 8
        assertThat(w.bytes(LLAMA_8B, KvCacheDType.BFLOAT16)).isEqualTo(52L << 20);
        // float8: a 2 MiB gather of bits and 2 MiB of them as float8
        assertThat(w.bytes(LLAMA_8B, KvCacheDType.FLOAT8_E4M3)).isEqualTo(52L << 20);
    }

    @Test
    void onCudaLlama8bTilesHold8192TokensOfKvAndCost128MiBInsideThePlansFixedShare() {
        AttentionWorkspace w = AttentionWorkspace.forDevice(DevicePlanner.Kind.CUDA, LLAMA_8B, 16, 2048, 512, 131_072);
        // 32 MiB of float32 K hold 8,192 tokens: a decode step at 16K of context reads it in 2 tiles per layer, not 16
        assertThat(w.kvTokens()).isEqualTo(8192);
        assertThat(w.scoreElements()).as("512 queries x 32 heads x 512 keys").isEqualTo(8L << 20);
        // K and V tiles 32 + 32 MiB, the bf16 gather 16, scores 32, output and its sum 8 + 8
        assertThat(w.bytes(LLAMA_8B, KvCacheDType.BFLOAT16)).isEqualTo(128L << 20);
        assertThat(LlamaModel.cudaAttentionWorkspaceBytes(LLAMA_8B, 16, 2048, KvCacheDType.BFLOAT16))
                .as("what the GPU memory plan sets aside for it").isEqualTo(w.bytes(LLAMA_8B, KvCacheDType.BFLOAT16));
        assertThat(LlamaModel.cudaAttentionWorkspaceBytes(LLAMA_8B, 16, 2048, KvCacheDType.FLOAT8_E4M3))
                .as("float8: an 8 MiB gather of bits and 8 MiB of them as float8").isEqualTo(128L << 20);
        assertThat(AttentionWorkspace.forDevice(DevicePlanner.Kind.CPU, LLAMA_8B, 16, 2048, 512, 131_072))
                .as("the CPU keeps its cache-sized tiles").isEqualTo(AttentionWorkspace.of(LLAMA_8B, 16, 2048, 512,
                        131_072, 1024));
    }

    @Test
    void neverMoreThanThePoolOrAChunkNeeds() {
        AttentionWorkspace w = AttentionWorkspace.of(LLAMA_8B, 16, 64, 512, 1000, 256);
        assertThat(w.kvTokens()).as("the pool's whole pages").isEqualTo(992);
        assertThat(w.scoreElements()).as("64 queries x 32 heads x 256 keys").isEqualTo(64L * 32 * 256);
        assertThat(AttentionWorkspace.of(LLAMA_8B, 16, 64, 512, 8, 256).kvTokens()).as("at least one page").isEqualTo(16);
    }
}
