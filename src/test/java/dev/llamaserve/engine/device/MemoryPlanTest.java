package dev.llamaserve.engine.device;

import static dev.llamaserve.engine.model.TinyFixture.fixture;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.engine.checkpoint.DType;
import dev.llamaserve.engine.device.MemoryPlan.Device;
import dev.llamaserve.engine.model.KvCacheDType;
import dev.llamaserve.engine.model.ModelConfig;
import dev.llamaserve.engine.model.ModelConfigParser;
import dev.llamaserve.engine.model.Quantization;
import org.junit.jupiter.api.Test;

/**
 * Memory figures of Llama-3.1-8B-Instruct from its real config.json. Expected numbers were computed
 * separately (by hand / a Python one-liner), not with the code under test.
 */
class MemoryPlanTest {

    private static final ModelConfig LLAMA_8B = ModelConfigParser.parse(fixture("llama-3.1-8b-instruct/config.json"));
    private static final long GIB = 1L << 30;
    private static final long MIB = 1L << 20;
    /** nvidia-smi's total for an H200 (141 GB), with 143,000 MiB free before loading. */
    private static final Device H200 = Device.cuda(143_771 * MIB, 143_000 * MIB);
    /** This kind of machine: 24 GiB of RAM, 23 GiB available before loading. */
    private static final Device HOST_24G = Device.cpu(24 * GIB, 23 * GIB);

    @Test
    void llama8bBf16OnH200Auto() {
        MemoryPlan p = MemoryPlan.plan(LLAMA_8B, DType.BF16, H200, KvCacheMemory.AUTO, null, 16);
        assertThat(p.weightBytes()).isEqualTo(16_060_522_496L);
        assertThat(p.kvBytesPerToken()).isEqualTo(131_072L);
        // 0.9 × (149,946,368,000 − 16,060,522,496) = 120,497,260,953 bytes → 919,327 tokens → 57,457 blocks.
        assertThat(p.kvBudgetBytes()).isEqualTo(120_497_260_953L);
        assertThat(p.kvBlocks()).isEqualTo(57_457);
        assertThat(p.kvTokens()).isEqualTo(919_312L);
        assertThat(p.maxModelLen()).isEqualTo(131_072);
        assertThat(p.warnings()).isEmpty();
        assertThat(p.summary())
                .contains("device CUDA", "dtype bfloat16", "weights 14.96 GiB (16060522496 bytes)",
                        "KV cache 131072 bytes/token", "919312 tokens in 57457 blocks of 16",
                        "max context 131072 tokens")
                .doesNotContain("WARNING");
    }

    /** A 12 GiB card (RTX 3060 class) with 11.5 GiB free after the CUDA context. */
    private static final Device GPU_12G = Device.cuda(12 * GIB, 11 * GIB + 512 * MIB);

    @Test
    void llama8bInt8FitsA12GibGpuWithMoreThan16kTokensOfBf16Kv() {
        MemoryPlan p = MemoryPlan.plan(LLAMA_8B, DType.BF16, Quantization.INT8, GPU_12G, KvCacheMemory.AUTO, null, 16);
        // linears 6,979,321,856 int8 + 1,376,256 bf16 scales; embed_tokens and lm_head 2 × 1,050,673,152 bf16;
        // norms 532,480 → 9,083,953,152 bytes. 12,348,030,976 − 9,083,953,152 = 3,264,077,824 free after them, less
        // a step of 2,048 tokens (1,076,854,784: int8StepReserveOfThe8b) = 2,187,223,040 → 16,687 tokens at 131,072
        // bytes → 1,042 blocks of 16.
        assertThat(p.weightBytes()).isEqualTo(9_083_953_152L);
        assertThat(p.kvBytesPerToken()).isEqualTo(131_072L);
        assertThat(p.stepReserveBytes()).isEqualTo(1_076_854_784L);
        assertThat(p.kvBudgetBytes()).isEqualTo(2_187_223_040L);
        assertThat(p.kvBlocks()).isEqualTo(1042);
        assertThat(p.kvTokens()).isEqualTo(16_672L).isGreaterThanOrEqualTo(16_384L);
        assertThat(p.maxModelLen()).isEqualTo(16_672);
        assertThat(p.summary()).contains("dtype bfloat16 with int8 linears", "weights 8.46 GiB (9083953152 bytes)",
                "16672 tokens in 1042 blocks of 16", "less 1.00 GiB for a step or 10 %, whichever is larger");
    }

    @Test
    void llama8bInt8LmHeadSavesHalfTheOutputProjection() {
        MemoryPlan p = MemoryPlan.plan(LLAMA_8B, DType.BF16, Quantization.INT8_LM_HEAD, GPU_12G, KvCacheMemory.AUTO,
                null, 16);
        // lm_head 525,336,576 int8 + 256,512 bf16 scales instead of 1,050,673,152 → 8,558,873,088 bytes; the step
        // reserve is int8's (the lm_head is widened 16,384 rows at a time, less than gate_proj's [T, 14,336] twice):
        // 3,789,157,888 − 1,076,854,784 = 2,712,303,104 → 20,693 tokens → 1,293 blocks.
        assertThat(p.weightBytes()).isEqualTo(8_558_873_088L);
        assertThat(p.stepReserveBytes()).isEqualTo(1_076_854_784L);
        assertThat(p.kvBlocks()).isEqualTo(1293);
        assertThat(p.kvTokens()).isEqualTo(20_688L);
        assertThat(p.summary()).contains("dtype bfloat16 with int8-lm-head linears");
    }

    /**
     * int8 weights and a float8 KV cache together on the 12 GiB card: the same 2,187,223,040-byte budget (float8's
     * attention workspace is bf16's 128 MiB: a 8 MiB gather of bits and 8 MiB of them as float8) at 67,584 bytes per
     * token holds 32,363 tokens → 2,022 blocks of 16 = 32,352 tokens (bf16 KV: 16,672). A full
     * 128K context (8.25 GiB of float8 KV) does not fit beside 8.46 GiB of weights, and asking for it says so.
     */
    @Test
    void llama8bInt8WithFloat8KvOnA12GibGpuHoldsTwiceTheTokens() {
        MemoryPlan p = MemoryPlan.plan(LLAMA_8B, DType.BF16, Quantization.INT8, GPU_12G, KvCacheMemory.AUTO, null, 16,
                KvCacheDType.FLOAT8_E4M3);
        assertThat(p.weightBytes()).isEqualTo(9_083_953_152L);
        assertThat(p.kvBytesPerToken()).isEqualTo(67_584L);
        assertThat(p.kvBudgetBytes()).isEqualTo(2_187_223_040L);
        assertThat(p.kvBlocks()).isEqualTo(2022);
        assertThat(p.kvTokens()).isEqualTo(32_352L);
        assertThat(p.summary()).contains("dtype bfloat16 with int8 linears", "KV cache 67584 bytes/token (float8_e4m3)",
                "32352 tokens in 2022 blocks of 16");
        assertThatThrownBy(() -> MemoryPlan.plan(LLAMA_8B, DType.BF16, Quantization.INT8, GPU_12G, KvCacheMemory.AUTO,
                131_072, 16, KvCacheDType.FLOAT8_E4M3))
                .isInstanceOf(MemoryPlanException.class)
                .hasMessageContaining("llm.engine.max-model-len");
    }

    /**
     * What a GPU step of 2,048 tokens of the 8B with int8 linears takes beside the weights and the KV cache: 332 MiB
     * for libtorch (348,127,232); attention's CUDA workspace 128 MiB (134,217,728: AttentionWorkspaceTest); activations 2,048 × (3 × 14,336 + 8 × 4,096) × 2 = 310,378,496; 64 logit rows
     * × 128,256 × (2 + 4) = 49,250,304; gate_proj widened whole ([14,336, 4,096] bf16, under 16,384 rows) with
     * [2,048, 14,336] twice: (58,720,256 + 58,720,256) × 2 = 234,881,024. Without int8, no widened weight; a step
     * of 512 tokens takes a quarter of the activations. On the CPU nothing is set aside (25 % of what is free).
     */
    @Test
    void int8StepReserveOfThe8b() {
        assertThat(MemoryPlan.cudaStepReserve(LLAMA_8B, 2048, 16, 2, Quantization.INT8, KvCacheDType.BFLOAT16, 16))
                .isEqualTo(1_076_854_784L);
        assertThat(MemoryPlan.cudaStepReserve(LLAMA_8B, 2048, 16, 2, Quantization.NONE, KvCacheDType.BFLOAT16, 16))
                .isEqualTo(841_973_760L);
        // 512 tokens: 77,594,624 activations; gate_proj (58,720,256 + 2 × 512 × 14,336) × 2 = 146,800,640
        assertThat(MemoryPlan.cudaStepReserve(LLAMA_8B, 512, 16, 2, Quantization.INT8, KvCacheDType.BFLOAT16, 16))
                .isEqualTo(348_127_232L + 134_217_728L + 77_594_624L + 49_250_304L + 146_800_640L);
        // 256 sequences decoding together: 256 logit rows instead of the 64 the scratch holds, (256 - 64) x 128,256 x 6
        assertThat(MemoryPlan.cudaStepReserve(LLAMA_8B, 2048, 256, 2, Quantization.INT8, KvCacheDType.BFLOAT16, 16))
                .isEqualTo(1_076_854_784L + 192L * 128_256 * 6);
        assertThatThrownBy(() -> MemoryPlan.cudaStepReserve(LLAMA_8B, 2048, 0, 2, Quantization.INT8,
                KvCacheDType.BFLOAT16, 16)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MemoryPlan.cudaStepReserve(LLAMA_8B, 0, 16, 2, Quantization.INT8, KvCacheDType.BFLOAT16,
                16))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(MemoryPlan.plan(LLAMA_8B, DType.BF16, Quantization.INT8, HOST_24G, KvCacheMemory.AUTO, null, 16)
                .stepReserveBytes()).isZero();
        // smaller steps leave more of the 12 GiB card to the KV cache
        MemoryPlan small = MemoryPlan.plan(LLAMA_8B, DType.BF16, Quantization.INT8, GPU_12G, KvCacheMemory.AUTO, null,
                16, KvCacheDType.AUTO, false, 512, 16);
        assertThat(small.kvBudgetBytes()).isEqualTo(3_264_077_824L - small.stepReserveBytes());
        assertThat(small.kvTokens()).isGreaterThan(16_672L);
    }

    /** An explicit KV budget on a GPU must leave the step its memory; the refusal names both settings. */
    @Test
    void anExplicitKvBudgetThatLeavesNoRoomForAStepIsRefusedOnAGpu() {
        assertThat(MemoryPlan.plan(LLAMA_8B, DType.BF16, Quantization.INT8, GPU_12G, KvCacheMemory.parse("2GiB"), null,
                16).kvBudgetBytes()).isEqualTo(2L * GIB);
        assertThatThrownBy(() -> MemoryPlan.plan(LLAMA_8B, DType.BF16, Quantization.INT8, GPU_12G,
                KvCacheMemory.parse("3GiB"), null, 16))
                .isInstanceOf(MemoryPlanException.class)
                .hasMessageContaining("llm.engine.kv-cache-memory=3.00 GiB does not fit")
                .hasMessageContaining("a step of 2048 tokens needs 1.00 GiB")
                .hasMessageContaining("llm.engine.max-num-batched-tokens");
    }

    @Test
    void llama8bBf16DoesNotFitA12GibGpuAndTheRefusalSuggestsInt8() {
        assertThatThrownBy(() -> MemoryPlan.plan(LLAMA_8B, DType.BF16, GPU_12G, KvCacheMemory.AUTO, null, 16))
                .isInstanceOf(MemoryPlanException.class)
                .hasMessageContaining("weights do not fit")
                .hasMessageContaining("llm.model.quantization=int8");
    }

    @Test
    void sixteenGibHoldsExactlyOneFullContextSequence() {
        MemoryPlan p = MemoryPlan.plan(LLAMA_8B, DType.BF16, H200, KvCacheMemory.parse("16GiB"), null, 16);
        assertThat(p.kvBudgetBytes()).isEqualTo(17_179_869_184L);
        assertThat(p.kvTokens()).isEqualTo(131_072L);
        assertThat(p.kvBlocks()).isEqualTo(8192);
        assertThat(p.maxModelLen()).isEqualTo(131_072);
        assertThat(p.warnings()).isEmpty();
    }

    /**
     * float8 e4m3 KV: 2 × 32 layers × 8 KV heads × (128 bytes + a 4-byte scale) = 67,584 bytes per token, so a
     * full 131,072-token context takes 8,858,370,048 bytes = 8.25 GiB (bfloat16: 16 GiB).
     */
    @Test
    void llama8bFloat8KvHolds128kTokensInEightAndAQuarterGib() {
        MemoryPlan p = MemoryPlan.plan(LLAMA_8B, DType.BF16, H200, KvCacheMemory.parse("8448MiB"), null, 16,
                KvCacheDType.FLOAT8_E4M3);
        assertThat(p.kvBytesPerToken()).isEqualTo(67_584L);
        assertThat(p.kvBudgetBytes()).isEqualTo(8_858_370_048L);
        assertThat(p.kvTokens()).isEqualTo(131_072L);
        assertThat(p.maxModelLen()).isEqualTo(131_072);
        assertThat(p.kvCacheDtype()).isEqualTo(KvCacheDType.FLOAT8_E4M3);
        assertThat(p.summary()).contains("KV cache 67584 bytes/token (float8_e4m3)");
        // the same budget in bfloat16 holds 8,858,370,048 / 131,072 = 67,584 tokens, and says how to get more
        MemoryPlan bf16 = MemoryPlan.plan(LLAMA_8B, DType.BF16, H200, KvCacheMemory.parse("8448MiB"), null, 16);
        assertThat(bf16.kvTokens()).isEqualTo(67_584L);
        assertThat(bf16.kvCacheDtype()).isEqualTo(KvCacheDType.BFLOAT16);
        assertThat(bf16.warnings()).singleElement().asString().contains("lowered from 131072");
        assertThatThrownBy(() -> MemoryPlan.plan(LLAMA_8B, DType.BF16, H200, KvCacheMemory.parse("8448MiB"), 131_072,
                16)).isInstanceOf(MemoryPlanException.class).hasMessageContaining("llm.engine.kv-cache-dtype=float8_e4m3");
        // auto on the H200: 0.9 × (free − weights) = 120,497,260,953 bytes → 1,782,925 tokens → 111,432 blocks
        MemoryPlan auto = MemoryPlan.plan(LLAMA_8B, DType.BF16, H200, KvCacheMemory.AUTO, null, 16,
                KvCacheDType.FLOAT8_E4M3);
        assertThat(auto.kvBlocks()).isEqualTo(111_432);
        assertThat(auto.kvTokens()).isEqualTo(1_782_912L);
    }

    @Test
    void unknownKvCacheDtypeNamesTheProperty() {
        assertThatThrownBy(() -> KvCacheDType.parse("fp8"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("llm.engine.kv-cache-dtype")
                .hasMessageContaining("float8_e4m3")
                .hasMessageContaining("'fp8'");
        assertThat(KvCacheDType.parse(" Float8_E4M3 ")).isEqualTo(KvCacheDType.FLOAT8_E4M3);
        assertThat(KvCacheDType.parse(null)).isEqualTo(KvCacheDType.AUTO);
    }

    @Test
    void multiHeadModelOfTheSameSizeNeedsFourTimesTheKv() {
        ModelConfig mha = new ModelConfig("LlamaForCausalLM", 4096, 32, 32, 32, 128, 14336, 1e-5, 500000,
                LLAMA_8B.ropeScaling(), 131072, false, 128256, 128000, LLAMA_8B.eosTokenIds(), "bfloat16");
        MemoryPlan p = MemoryPlan.plan(mha, DType.BF16, H200, KvCacheMemory.parse("16GiB"), null, 16);
        assertThat(p.kvBytesPerToken()).isEqualTo(4 * 131_072L);
        assertThat(p.kvTokens()).isEqualTo(32_768L);
        assertThat(p.maxModelLen()).isEqualTo(32_768);
        assertThat(p.warnings()).singleElement().asString().contains("lowered from 131072");
    }

    @Test
    void llama8bBf16OnA24GibHostLowersTheDefaultContextWithAWarning() {
        MemoryPlan p = MemoryPlan.plan(LLAMA_8B, DType.BF16, HOST_24G, KvCacheMemory.AUTO, null, 16);
        assertThat(p.weightBytes()).isEqualTo(16_060_522_496L);
        // 0.25 × (24,696,061,952 − 16,060,522,496) = 2,158,884,864 bytes → 16,471 tokens → 1,029 blocks.
        assertThat(p.kvBudgetBytes()).isEqualTo(2_158_884_864L);
        assertThat(p.kvBlocks()).isEqualTo(1029);
        assertThat(p.kvTokens()).isEqualTo(16_464L);
        assertThat(p.maxModelLen()).isEqualTo(16_464);
        assertThat(p.warnings()).singleElement().asString()
                .contains("max context lowered from 131072", "to 16464 tokens", "llm.engine.kv-cache-memory");
        assertThat(p.summary()).contains("device CPU", "KV budget 2.01 GiB (llm.engine.kv-cache-memory=auto: 25 % of the"
                + " host memory free after the weights) = 16464 tokens", "WARNING", "max context 16464 tokens");
    }

    @Test
    void packedWeightsCountTheLinearsTwiceAndTheRefusalNamesTheSetting() {
        // 16,060,522,496 + a bf16 copy of the linears and lm_head (15,009,316,864, PackedWeightsTest) = 31,069,839,360
        assertThatThrownBy(() -> MemoryPlan.plan(LLAMA_8B, DType.BF16, Quantization.NONE, HOST_24G, KvCacheMemory.AUTO,
                null, 16, KvCacheDType.AUTO, true))
                .isInstanceOf(MemoryPlanException.class)
                .hasMessageContaining("(31069839360 bytes)")
                .hasMessageContaining("a packed copy of the linears (llm.model.packed-weights)")
                .hasMessageContaining("Set llm.model.packed-weights=false");
        Device host64 = Device.cpu(64 * GIB, 60 * GIB);
        MemoryPlan p = MemoryPlan.plan(LLAMA_8B, DType.BF16, Quantization.NONE, host64, KvCacheMemory.AUTO, null, 16,
                KvCacheDType.AUTO, true);
        // 0.25 × (64,424,509,440 − 31,069,839,360) = 8,338,667,520 bytes → 63,618 tokens → 3,976 blocks of 16
        assertThat(p.weightBytes()).isEqualTo(31_069_839_360L);
        assertThat(p.kvBudgetBytes()).isEqualTo(8_338_667_520L);
        assertThat(p.kvTokens()).isEqualTo(63_616L);
        assertThat(p.packedWeights()).isTrue();
        assertThat(p.summary()).contains("dtype bfloat16 + a packed copy of the linears");
    }

    @Test
    void llama8bFp16OnA24GibHostHasTheSameFigures() {
        MemoryPlan p = MemoryPlan.plan(LLAMA_8B, DType.F16, HOST_24G, KvCacheMemory.AUTO, null, 16);
        assertThat(p.weightBytes()).isEqualTo(16_060_522_496L);
        assertThat(p.kvBytesPerToken()).isEqualTo(131_072L);
        assertThat(p.kvTokens()).isEqualTo(16_464L);
        assertThat(p.summary()).contains("dtype float16");
    }

    @Test
    void llama8bFp32IsRefusedOnA24GibHost() {
        assertThatThrownBy(() -> MemoryPlan.plan(LLAMA_8B, DType.F32, HOST_24G, KvCacheMemory.AUTO, null, 16))
                .isInstanceOf(MemoryPlanException.class)
                .hasMessageContaining("weights do not fit")
                .hasMessageContaining("need 29.92 GiB (32121044992 bytes)")
                .hasMessageContaining("only 24.00 GiB of host memory in total")
                .hasMessageContaining("llm.model.dtype=bfloat16 or float16")
                .hasMessageContaining("GPU");
    }

    @Test
    void weightsLargerThanTheFreeGpuMemoryAreRefused() {
        Device busy = Device.cuda(24 * GIB, 10 * GIB);
        assertThatThrownBy(() -> MemoryPlan.plan(LLAMA_8B, DType.BF16, busy, KvCacheMemory.AUTO, null, 16))
                .isInstanceOf(MemoryPlanException.class)
                .hasMessageContaining("only 10.00 GiB of the CUDA device's 24.00 GiB of GPU memory are free")
                .hasMessageContaining("GPU with more memory");
    }

    @Test
    void explicitMaxModelLenThatTheBudgetCannotHoldFailsSayingWhatToChange() {
        assertThatThrownBy(() -> MemoryPlan.plan(LLAMA_8B, DType.BF16, HOST_24G, KvCacheMemory.AUTO, 32768, 16))
                .isInstanceOf(MemoryPlanException.class)
                .hasMessageContaining("llm.engine.max-model-len=32768 does not fit")
                .hasMessageContaining("needs 4.00 GiB of KV cache")
                .hasMessageContaining("holds 16464 tokens")
                .hasMessageContaining("Lower llm.engine.max-model-len to at most 16464");
    }

    @Test
    void explicitMaxModelLenThatFitsIsKept() {
        MemoryPlan p = MemoryPlan.plan(LLAMA_8B, DType.BF16, HOST_24G, KvCacheMemory.AUTO, 8192, 16);
        assertThat(p.maxModelLen()).isEqualTo(8192);
        assertThat(p.kvTokens()).isEqualTo(16_464L);
        assertThat(p.warnings()).isEmpty();
    }

    @Test
    void maxModelLenBeyondThePositionEmbeddingsIsRefused() {
        assertThatThrownBy(() -> MemoryPlan.plan(LLAMA_8B, DType.BF16, H200, KvCacheMemory.AUTO, 200_000, 16))
                .isInstanceOf(MemoryPlanException.class)
                .hasMessageContaining("llm.engine.max-model-len=200000 is out of range")
                .hasMessageContaining("max_position_embeddings (131072)");
        assertThatThrownBy(() -> MemoryPlan.plan(LLAMA_8B, DType.BF16, H200, KvCacheMemory.AUTO, 0, 16))
                .isInstanceOf(MemoryPlanException.class);
    }

    @Test
    void explicitKvBudgetLargerThanTheMemoryLeftIsRefused() {
        assertThatThrownBy(() -> MemoryPlan.plan(LLAMA_8B, DType.BF16, HOST_24G, KvCacheMemory.parse("16GiB"), null, 16))
                .isInstanceOf(MemoryPlanException.class)
                .hasMessageContaining("llm.engine.kv-cache-memory=16.00 GiB does not fit")
                .hasMessageContaining("only 8.04 GiB of host memory are free")
                .hasMessageContaining("at most 8.04 GiB");
    }

    @Test
    void kvBudgetBelowOneMinimalSequenceIsRefused() {
        assertThatThrownBy(() -> MemoryPlan.plan(LLAMA_8B, DType.BF16, H200, KvCacheMemory.parse("1MiB"), null, 16))
                .isInstanceOf(MemoryPlanException.class)
                .hasMessageContaining("KV cache is too small")
                .hasMessageContaining("holds 0 tokens")
                .hasMessageContaining("less than one sequence of 512 tokens")
                .hasMessageContaining("Set llm.engine.kv-cache-memory to at least 64.00 MiB");
        // auto on a host with almost nothing left after the weights
        Device tight = Device.cpu(24 * GIB, 16_060_522_496L + 40 * MIB);
        assertThatThrownBy(() -> MemoryPlan.plan(LLAMA_8B, DType.BF16, tight, KvCacheMemory.AUTO, null, 16))
                .isInstanceOf(MemoryPlanException.class)
                .hasMessageContaining("KV cache is too small")
                .hasMessageContaining("holds 80 tokens");
    }

    @Test
    void aShortExplicitMaxModelLenLowersTheFloor() {
        // 1 MiB holds 8 tokens: enough for max-model-len 8 with blocks of 8.
        MemoryPlan p = MemoryPlan.plan(LLAMA_8B, DType.BF16, H200, KvCacheMemory.parse("1MiB"), 8, 8);
        assertThat(p.kvTokens()).isEqualTo(8);
        assertThat(p.kvBlocks()).isEqualTo(1);
        assertThat(p.maxModelLen()).isEqualTo(8);
    }

    @Test
    void tokensAreRoundedDownToWholeBlocks() {
        // 1000 tokens' worth plus a little: 62 blocks of 16 = 992 tokens.
        MemoryPlan p = MemoryPlan.plan(LLAMA_8B, DType.BF16, H200, KvCacheMemory.ofBytes(1000L * 131_072 + 5), 512, 16);
        assertThat(p.kvBlocks()).isEqualTo(62);
        assertThat(p.kvTokens()).isEqualTo(992);
    }
}
