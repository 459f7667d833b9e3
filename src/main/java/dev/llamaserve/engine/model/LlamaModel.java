package dev.llamaserve.engine.model;

import static dev.llamaserve.engine.model.CpuKernelSwitches.CPU_BF16_ONEDNN_SINGLE_ROW;
import static dev.llamaserve.engine.model.CpuKernelSwitches.CPU_BF16_PAD_SINGLE_ROW;
import static dev.llamaserve.engine.model.CpuKernelSwitches.CPU_FP16_UPCAST_ROWS;
import static dev.llamaserve.engine.model.CpuKernelSwitches.CPU_INT8_PACK_MAX_ROWS;
import static dev.llamaserve.engine.model.CpuKernelSwitches.CPU_NATIVE_BF16_AMX_MAX_ROWS;
import static dev.llamaserve.engine.model.CpuKernelSwitches.CPU_NATIVE_BF16_MAX_ROWS;
import static dev.llamaserve.engine.model.CpuKernelSwitches.CPU_NATIVE_INT8_MAX_ROWS;
import static dev.llamaserve.engine.model.CpuKernelSwitches.GRAPH_OPTIMIZER;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.device.DevicePlanner;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face {@code LlamaForCausalLM} on libtorch: one TorchScript method call per step for the whole
 * batch ({@code llama_step.py}, compiled by libtorch at load), weights in the compute dtype on the device,
 * and a paged KV pool of {@code kvCacheTokens} slots per layer. Not thread-safe: the engine thread calls it.
 * {@link LlamaModelLoader} makes it; {@link CpuKernelSwitches} holds the switches that pick its CPU kernels.
 */
public final class LlamaModel implements CausalLm {

    static final String SCRIPT = "/dev/llamaserve/engine/model/llama_step.py";
    static final String SCRIPT_CLASS = "LlamaForCausalLM";
    static final String EMBED_TOKENS = "model.embed_tokens.weight";
    public static final String LM_HEAD = "lm_head.weight";
    /**
     * The step's bf16 scratch for widening one blocked int8 weight (mode 7), among the weights under this name (not
     * a checkpoint name): as large as the largest quantized layer weight, made at load and reused, since a fresh
     * tensor of that size per call cost more in page faults than the widening.
     */
    static final String INT8_WIDEN_SCRATCH = "int8_widen_scratch";
    /**
     * Present among the step's weights (an empty tensor: only its name counts) where the int8 weights multiply rows
     * quantized to int8 per row ({@link Quantization#int8Activations()}, {@code llamaserve::linear_w8a8}) in every
     * step, prefill chunks included (the kernel ran 512 rows as fast as oneDNN's bf16 GEMM: no widening, and no
     * {@link #INT8_WIDEN_SCRATCH}).
     */
    static final String INT8_ACTIVATIONS = "int8_activations";
    /**
     * The float32 scratch on the CPU that a step's logits are copied into and returned from (a view of its first
     * rows, which {@link #forward} copies out at once), among the weights under this name: made at load for
     * {@link #LOGITS_SCRATCH_ROWS} rows, because a fresh [rows, vocab] tensor per step is new memory whose every
     * 4 KiB page faults when first written: 16 rows of a 128,256-token vocabulary took 19 ms of a 220 ms step
     * ({@code StepProfileBenchmark -Dbench.rows=16}), the copy into the scratch 0.3 ms. Steps with more logit rows
     * (all positions of a long prompt, in tests) get a new tensor as before.
     */
    static final String LOGITS_SCRATCH = "logits_scratch";
    /** Logit rows the {@link #LOGITS_SCRATCH} holds: one per decoding sequence of the largest batches served. */
    public static final int LOGITS_SCRATCH_ROWS = 64;
    /**
     * Rows of an int8 weight that {@code llama_step.py}'s {@code linear} widens to the compute dtype at a time where it
     * has no int8 kernel (the GPU; the CPU in float32 or float16): larger weights, an int8 lm_head above all, are
     * multiplied in slices of this many output channels, so a step never holds a whole [vocab, hidden] widened.
     */
    public static final int INT8_WIDEN_ROWS = 16384;

    /**
     * Keys attention reads per chunk (rounded down to whole pages): its extra memory is O(new tokens × heads ×
     * this), whatever the context length (a 32K-token prompt never builds a score matrix over its whole context).
     */
    static final int ATTENTION_CHUNK_TOKENS = Integer.getInteger("llamaserve.attentionChunkTokens", 1024);
    /** On CUDA: longer chunks, each of a few kernel launches (see {@link AttentionWorkspace#CUDA_KV_TILE_BYTES}). */
    static final int CUDA_ATTENTION_CHUNK_TOKENS = 8192;

    /**
     * Queries of a prefill chunk attended in one call: each block reads the keys up to its own last position, in
     * tiles whose scores fit the attention workspace ({@link AttentionWorkspace}: 4 Mi scores are 256 keys for a
     * block of 512 queries with 32 heads). A 2,048-token chunk attended at once had tiles of 64 keys.
     */
    static final int ATTENTION_QUERY_BLOCK = 512;

    /**
     * Bytes of the attention workspace a model of this config takes on CUDA, whatever its KV pool (the tile's
     * bound): what {@code MemoryPlan}'s step reserve counts for it.
     */
    public static long cudaAttentionWorkspaceBytes(ModelConfig config, int pageSize, int maxChunkTokens,
                                                   KvCacheDType kv) {
        return AttentionWorkspace.forDevice(DevicePlanner.Kind.CUDA, config, pageSize, maxChunkTokens,
                ATTENTION_QUERY_BLOCK, Long.MAX_VALUE).bytes(config, kv);
    }

    /** Keys attention reads per chunk on a device of this kind. */
    static int attentionChunkTokens(DevicePlanner.Kind kind) {
        return kind == DevicePlanner.Kind.CUDA ? CUDA_ATTENTION_CHUNK_TOKENS : ATTENTION_CHUNK_TOKENS;
    }

    private final ModelConfig config;
    private final DevicePlanner.DeviceInfo device;
    private final ComputeDType dtype;
    private final KvCacheDType kvDtype;       // resolved: never AUTO
    private final int pageSize;
    private final Quantization quantization;
    private final boolean int8Pack;           // int8 weights through _weight_int8pack_mm for few rows
    private final NativeKernels.Isa nativeIsa;   // llama-serve's kernels (CPU, bf16), NONE where not used
    private NativeKernels.Isa isaInUse;          // the native kernels' instruction set now (tests switch it)
    private final boolean nativeInt8;            // int8 weights blocked for llamaserve::linear_int8
    private final boolean int8Amx;               // linear_int8 on AMX tiles, for steps of any size (no mode 7)
    private final boolean amxTiles;              // linear_bf16 and linear_int8 on AMX tiles (set at load)
    private boolean nativeAttention;             // decode steps through llamaserve::decode_attention
    private boolean nativeNorm;                  // RMSNorm through llamaserve::rms_norm
    private final boolean nativeArgmax;          // the rows' argmax (forwardArgmax) through llamaserve::argmax_rows
    private boolean nativeRope;                  // rotary embedding and KV write through llamaserve::rope_kv
    private boolean nativeSilu;                  // the MLP's silu(gate) * up through llamaserve::silu_mul
    private boolean fusedLayers;                 // with all four above: each layer one decoder_layer(_int8) call
    private int nativePrefillContext;            // prefill chunks attend natively up to this context (0: never)
    private boolean nativeBf16Gemm;              // 1 .. CPU_NATIVE_BF16_MAX_ROWS rows through llamaserve::linear_bf16
    private final int kvSlots;
    private final int maxChunkTokens;
    private final long chunkPages;               // pages of keys attention reads per chunk on this device
    private final PtNDManager manager;
    private final PtSymbolBlock module;
    private final Map<String, PtNDArray> weights;   // Hugging Face name -> tensor, lm_head.weight always present
    private final List<PtNDArray> kvCaches;   // k_cache_0, v_cache_0, ... each [pages * pageSize, KVH, D]
    private final List<PtNDArray> kvScales;   // float8 only: k_scale_0, v_scale_0, ... each [pages * pageSize, KVH] f32
    private final IValue weightsArg;          // Dict[str, Tensor], built once
    private IValue stepWeightsArg;            // what the step gets: weightsArg, or (benchmarks) the same without packed copies
    private IValue unpackedWeightsArg;        // benchmarks only: weightsArg without the <name>_packed copies
    private final IValue layersArg;           // List[List[Tensor]]: each layer's weights for the fused layer (else empty)
    private final java.nio.FloatBuffer logitsScratch;   // LOGITS_SCRATCH's memory, read in place after each step
    private final long vocabRows;             // lm_head's rows: the logits' width
    private final IValue kvArg;               // List[Tensor], built once
    private final IValue kvScalesArg;         // List[Tensor], built once (empty unless float8)
    private final PtNDArray invFreq;          // [D/2] float64
    private final IValue invFreqArg;
    private final IValue workArg;             // List[Tensor]: attention's workspace (AttentionWorkspace), made once
    private boolean closed;
    private int queryBlock = ATTENTION_QUERY_BLOCK;

    LlamaModel(ModelConfig config, DevicePlanner.DeviceInfo device, ComputeDType dtype, KvCacheDType kvDtype,
                       int pageSize, Quantization quantization, int kvSlots, int maxChunkTokens, PtNDManager manager,
                       PtSymbolBlock module, Map<String, PtNDArray> weights, List<PtNDArray> kvCaches,
                       List<PtNDArray> kvScales,
                       PtNDArray invFreq, IValue workArg, NativeKernels.Isa nativeIsa, boolean nativeInt8,
                       boolean int8Amx, boolean amxTiles) {
        this.config = config;
        this.device = device;
        this.dtype = dtype;
        this.kvDtype = kvDtype;
        this.pageSize = pageSize;
        this.quantization = quantization;
        this.int8Pack = Int8Weights.usesPack(quantization, dtype, device, config);
        this.kvSlots = kvSlots;
        this.maxChunkTokens = maxChunkTokens;
        this.chunkPages = Math.max(1, attentionChunkTokens(device.kind()) / pageSize);
        this.manager = manager;
        this.module = module;
        this.weights = weights;
        this.kvCaches = kvCaches;
        this.weightsArg = IValue.stringMapFrom(weights);
        this.stepWeightsArg = weightsArg;
        this.kvArg = IValue.listFrom(kvCaches.toArray(new PtNDArray[0]));
        this.logitsScratch = weights.get(LOGITS_SCRATCH).toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
        this.vocabRows = weights.get("lm_head.weight").getShape().get(0);
        this.kvScales = kvScales;
        // without float8 the step never reads kv_scales: it gets the caches' list again
        this.kvScalesArg = kvScales.isEmpty() ? kvArg : IValue.listFrom(kvScales.toArray(new PtNDArray[0]));
        this.invFreq = invFreq;
        this.invFreqArg = IValue.from(invFreq);
        this.workArg = workArg;
        this.nativeIsa = nativeIsa;
        this.isaInUse = nativeIsa;
        this.nativeInt8 = nativeInt8;
        this.int8Amx = int8Amx;
        this.amxTiles = amxTiles;
        this.bf16SingleRowMode = CPU_BF16_ONEDNN_SINGLE_ROW ? 4 : nativeIsa != NativeKernels.Isa.NONE ? 6
                : CPU_BF16_PAD_SINGLE_ROW ? 2 : 0;
        this.nativeNorm = nativeIsa != NativeKernels.Isa.NONE;   // set only on the CPU in bf16
        this.nativeArgmax = nativeIsa != NativeKernels.Isa.NONE;
        this.nativeRope = nativeIsa != NativeKernels.Isa.NONE && kvDtype == KvCacheDType.BFLOAT16;
        this.nativeSilu = nativeIsa != NativeKernels.Isa.NONE && NativeKernels.siluReady(module);
        this.fusedLayers = nativeIsa != NativeKernels.Isa.NONE && (quantization == Quantization.NONE || nativeInt8);
        this.layersArg = IValueUtils.runMethod(module, "layer_weights", weightsArg,
                IValue.from((long) (fusedLayers ? config.numHiddenLayers() : 0)));   // built once
        NativeKernels.AttentionBody body = attentionBody(nativeIsa);
        // used only with nativeAttention
        this.nativePrefillContext = CpuKernelSwitches.nativePrefillContext(nativeIsa, body);
        this.nativeAttention = body != NativeKernels.AttentionBody.NONE && kvDtype == KvCacheDType.BFLOAT16;
        this.nativeBf16Gemm = (nativeIsa == NativeKernels.Isa.AVX2
                || nativeIsa == NativeKernels.Isa.AVX512_BF16 && (!CpuFeatures.hasAmxBf16() || amxTiles))
                && weights.keySet().stream().noneMatch(n -> n.endsWith(PackedWeights.SUFFIX));
    }

    /**
     * The compute dtype {@code auto} means on a device for a checkpoint stored as {@code checkpointDtype}
     * ({@code config.json}'s {@code torch_dtype}): on CUDA float16 for a float16 checkpoint (as vLLM; bfloat16 would
     * drop three bits of every weight) and bfloat16 otherwise; {@link #CPU_AUTO_DTYPE} on the CPU.
     */
    public static ComputeDType resolveDType(String option, DevicePlanner.DeviceInfo device, String checkpointDtype) {
        ComputeDType d = ComputeDType.parse(option);
        if (d != null) {
            return d;
        }
        if (device.kind() != DevicePlanner.Kind.CUDA) {
            return CPU_AUTO_DTYPE;
        }
        return ComputeDType.FLOAT16.optionName().equals(checkpointDtype) ? ComputeDType.FLOAT16 : ComputeDType.BFLOAT16;
    }

    /**
     * What {@code dtype=auto} computes in on the CPU: bfloat16. Measured with {@code LlamaModelBenchmark}
     * (Llama-3.2-1B shape, libtorch 2.7.1, 2 AVX2 cores, best of several runs on a shared machine):
     * float32 decode 254 ms/step, 8-sequence decode 688 ms/step, prefill 69 tok/s; float16 decode 82 ms,
     * 8-sequence 590 ms, prefill 46–52 tok/s (widened to float32 from 16 rows; 13 tok/s without);
     * bfloat16 decode 138–144 ms, 8-sequence 258–296 ms, prefill 163–173 tok/s (128 tokens). float16 is the
     * fastest for one lone sequence on an idle machine; bfloat16 is 2× faster batched, 3× faster at prefill,
     * the least disturbed by other load, and the official checkpoints' own dtype (no conversion, no float16
     * overflow); a float16 or float32 checkpoint is converted to it at load.
     */
    public static final ComputeDType CPU_AUTO_DTYPE = ComputeDType.BFLOAT16;

    /**
     * Loads the checkpoint onto its device. The libtorch work runs on a thread of its own that ends with the load
     * ({@link TorchThreads}: a thread that ran libtorch's parallel conversions and stays alive would throttle the
     * engine thread's steps); {@code listener} is called on that thread.
     */
    public static LlamaModel load(Checkpoint checkpoint, ModelOptions options, LoadListener listener) {
        return TorchThreads.onEndingThread("llm-torch-load", () -> LlamaModelLoader.load(checkpoint, options, listener));
    }

    public Quantization quantization() {
        return quantization;
    }

    /** The instruction set llama-serve's CPU kernels run with for this model; {@code NONE} where it does not use them. */
    public NativeKernels.Isa nativeIsa() {
        return nativeIsa;
    }

    /**
     * Whether this model's bf16 and int8 linears run on the AVX-512F bodies of the AVX2 kernels now (a CPU with AVX-512
     * but not its BF16 instructions; {@link NativeKernels#avx512fLinear}, one setting for the process, which each load
     * sets): the load log and the bench say so.
     */
    public boolean nativeAvx512fLinear() {
        return isaInUse == NativeKernels.Isa.AVX2 && NativeKernels.avx512fLinear(module, -1);
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public int kvSlots() {
        return kvSlots;
    }

    public ComputeDType dtype() {
        return dtype;
    }

    /** What the KV cache stores (never {@code auto}). */
    public KvCacheDType kvCacheDtype() {
        return kvDtype;
    }

    @Override
    public int kvBlockSize() {
        return pageSize;
    }

    public DevicePlanner.DeviceInfo device() {
        return device;
    }

    public int maxChunkTokens() {
        return maxChunkTokens;
    }

    @Override
    public float[] forward(ForwardBatch batch) {
        return forward(batch, null);
    }

    @Override
    public float[] forward(ForwardBatch batch, float[] reuse) {
        try (IValue out = step(batch, 0)) {
            int n = Math.toIntExact(batch.logitRows().length * vocabRows);
            float[] values = CausalLm.logitsArray(reuse, n);   // [R, V]
            read(out, values, n);
            return values;
        }
    }

    /**
     * In the step script (llama_step.py's argmax_width) where it is quicker than the sampler's loop over the rows
     * copied out: through llama-serve's kernel on the CPU (argmax_rows: 16 rows of 128,256 bf16 logits in well under
     * a millisecond), or on a GPU; not on a CPU without the kernels, where torch.argmax took 3.3 ms for those 16 rows
     * (Ice Lake Xeon) against the sampler's 1-1.8 ms.
     */
    @Override
    public boolean argmaxInForward() {
        return nativeArgmax || device.kind() != DevicePlanner.Kind.CPU;
    }

    @Override
    public int[] forwardArgmax(ForwardBatch batch, int width) {
        if (width < 1 || width > vocabRows) {
            throw new IllegalArgumentException("argmax width " + width + " outside 1.." + vocabRows);
        }
        int r = batch.logitRows().length;
        float[] ids = new float[r];   // [R]: the step returns them as float32, exact below 2^24
        try (IValue out = step(batch, width)) {
            read(out, ids, r);
        }
        int[] tokens = new int[r];   // [R]
        for (int i = 0; i < r; i++) {
            tokens[i] = (int) ids[i];
        }
        return tokens;
    }

    /**
     * The step's first {@code n} floats into {@code values}: from the logits scratch where they fit (the step returned
     * a view of its first floats: llama_step.py's take), without the JNI calls of reading the tensor returned
     * (toTensor, then toByteBuffer's device, layout, contiguity and data pointer: 0.15-0.2 ms a step); else from the
     * new tensor the step returned.
     */
    private void read(IValue out, float[] values, int n) {
        if (n <= logitsScratch.capacity()) {
            logitsScratch.get(0, values, 0, n);
        } else {
            try (NDManager step = manager.newSubManager()) {
                PtNDArray result = out.toTensor((PtNDManager) step);   // float32 on cpu, a new tensor
                // one copy, read in place (toFloatArray copies into a byte[] first: a second [R, V] per step)
                result.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer().get(values, 0, n);
            }
        }
    }

    /** Runs llama_step.py's step_ids on the batch: logits [R, V], or where argmaxWidth > 0 the rows' argmax [R]. */
    private IValue step(ForwardBatch batch, int argmaxWidth) {
        if (closed) {
            throw new IllegalStateException("model is closed");
        }
        validate(batch);
        int t = batch.numTokens();
        int b = batch.numSequences();
        PageTables pages = PageTables.of(batch, pageSize, kvSlots, kvCaches.get(0).getShape().get(0) / pageSize);
        long linearMode = linearMode(t);
        // the step's integer vectors in one list, which llama_step.py's step_ids makes one tensor of: DJL's
        // NDManager.create and IValue.from for each of the seven, their closes and the step's sub-manager took
        // ~0.55 ms more of a one-row step of the 1B shape outside its linear kernels (3.04 against 2.49 ms,
        // alternated in one process, AMD EPYC Zen 5)
        int bd = pages.decodeSeqs().length;
        int r = batch.logitRows().length;
        long[] ids = new long[3 * t + b * pages.width() + 2 * bd + r];   // step_ids' ids, one vector after another
        int at = put(ids, 0, batch.tokenIds());
        at = put(ids, at, batch.positions());
        at = put(ids, at, batch.slotMapping());
        System.arraycopy(pages.tables(), 0, ids, at, pages.tables().length);
        at += pages.tables().length;
        System.arraycopy(pages.decodeSeqs(), 0, ids, at, bd);
        System.arraycopy(pages.decodeRows(), 0, ids, at + bd, bd);
        put(ids, at + 2 * bd, batch.logitRows());
        IValue[] args = {
            IValue.listFrom(ids),                                       // ids [3T + BP + 2Bd + R]
            IValue.from((long) t), IValue.from((long) b), IValue.from((long) pages.width()),   // T, B, P
            IValue.from((long) bd), IValue.from((long) r),              // Bd, R
            IValue.listFrom(widen(batch.queryStart())),                 // query_start [B]
            IValue.listFrom(widen(batch.queryLen())),                   // query_len [B]
            IValue.listFrom(pages.contextLen()),                        // context_len [B]
            IValue.from((long) pages.decodePages()),                    // decode_pages
            IValue.from((long) pageSize),                               // page_size
            IValue.from(chunkPages),                                    // chunk_pages
            IValue.from((long) queryBlock),                             // query_block
            IValue.from(kvDtype.fp8()),                                 // kv_fp8
            IValue.from(nativeAttention),                               // native_attention
            IValue.from(nativeNorm),                                    // native_norm
            IValue.from(nativeRope),                                    // native_rope
            IValue.from(nativeSilu),                                    // native_silu
            IValue.from(fusedLayers() && nativeLinears(linearMode)),    // fused_layers
            IValue.from((long) (nativeAttention ? nativePrefillContext : 0)),   // native_prefill_context
            IValue.from((long) config.numHiddenLayers()),
            IValue.from((long) config.numAttentionHeads()),
            IValue.from((long) config.numKeyValueHeads()),
            IValue.from((long) config.headDim()),
            IValue.from(config.rmsNormEps()),
            IValue.from(linearMode),
            IValue.from((long) argmaxWidth),                            // argmax_width
            IValue.from(nativeArgmax)};                                 // native_argmax
        IValue[] all = new IValue[6 + args.length];
        all[0] = stepWeightsArg;
        all[1] = layersArg;
        all[2] = kvArg;
        all[3] = kvScalesArg;
        all[4] = invFreqArg;
        all[5] = workArg;
        System.arraycopy(args, 0, all, 6, args.length);
        if (!GRAPH_OPTIMIZER) {
            JniUtils.setGraphExecutorOptimize(false);
        }
        try {
            return IValueUtils.runMethod(module, "step_ids", all);
        } finally {
            for (IValue v : args) {
                v.close();
            }
        }
    }

    /** values widened into {@code to} from {@code at} on -> the index after them */
    private static int put(long[] to, int at, int[] values) {
        for (int v : values) {
            to[at++] = v;
        }
        return at;
    }

    /**
     * How {@code llama_step.py}'s {@code linear} multiplies this step: 0 as is, 1 widened to float32, 2 one row
     * padded to two, 3 int8 weights through {@code _weight_int8pack_mm} (float weights as 2), 4 one bf16 row through
     * oneDNN's linear, 5 int8 weights as 3 and float weights (a bf16 {@code lm_head} beside int8 layers) as 4,
     * 6 llama-serve's native kernels ({@link NativeKernels}: blocked int8 weights, and one bf16 row), 7 blocked int8
     * weights widened for the GEMM (float weights as 6), 8 float weights through the native kernel whatever the rows
     * (int8 weights as 6: {@link CpuKernelSwitches#CPU_NATIVE_BF16_MAX_ROWS}), 9 blocked int8 weights widened for the
     * native bf16 kernel (float weights as 8): 7 on AVX2, where libtorch's bf16 GEMM emulates bf16 (a 512-token chunk
     * of the 1B shape with int8 weights took 3.1x bf16's through it); W8A8 there takes 8, its int8 weights through
     * {@code native_w8a8} whatever the rows.
     */
    long linearMode(int rows) {
        if (device.kind() != DevicePlanner.Kind.CPU) {
            return 0;
        }
        boolean nativeBf16Rows = nativeBf16Gemm && rows <= nativeBf16MaxRows();
        if (nativeInt8) {
            if (rows > CPU_NATIVE_INT8_MAX_ROWS && !int8Amx) {
                if (isaInUse == NativeKernels.Isa.AVX2 && nativeBf16Rows) {
                    return quantization.int8Activations() ? 8 : 9;   // W8A8 quantizes every step's rows: never widened
                }
                return 7;
            }
            return nativeBf16Rows ? 8 : 6;
        }
        if (int8Pack && rows <= CPU_INT8_PACK_MAX_ROWS) {
            return bf16SingleRowMode == 4 ? 5 : 3;
        }
        if (dtype == ComputeDType.FLOAT16 && rows >= CPU_FP16_UPCAST_ROWS) {
            return 1;
        }
        if (dtype == ComputeDType.BFLOAT16 && bf16SingleRowMode != 0) {
            if (quantization != Quantization.NONE && (nativeBf16Rows || bf16SingleRowMode == 6)) {
                // int8 weights that are not blocked (a shape the layout does not take): modes 6-8 would send them
                // to the blocked kernel; widened for the GEMM instead
                return 0;
            }
            return nativeBf16Rows ? 8 : bf16SingleRowMode;
        }
        return 0;
    }

    /** Whether this model's decode steps attend through the native kernel. */
    boolean nativeAttention() {
        return nativeAttention;
    }

    /** Tests: decode steps through the native attention kernel (where this model may use it) or the script's. */
    void nativeAttention(boolean use) {
        requireNativeKernels(use);
        nativeAttention = use;
    }

    private void requireNativeKernels(boolean use) {
        if (use && nativeIsa == NativeKernels.Isa.NONE) {
            throw new IllegalStateException("this model was loaded without native kernels");
        }
    }

    /**
     * Whether this model's bf16 steps of up to {@link CpuKernelSwitches#CPU_NATIVE_BF16_MAX_ROWS} rows use the native
     * kernel.
     */
    boolean nativeBf16Gemm() {
        return nativeBf16Gemm;
    }

    /** Tests and benchmarks: several bf16 rows through the native kernel (mode 8) or as before (torch.linear). */
    void nativeBf16Gemm(boolean use) {
        requireNativeKernels(use);
        nativeBf16Gemm = use;
    }

    /** Tests: RMSNorm through the native kernel (where this model may use it) or the script's. */
    void nativeNorm(boolean use) {
        requireNativeKernels(use);
        nativeNorm = use;
    }

    /** The longest context at which this model's prefill chunks attend natively (0: never). */
    int nativePrefillContext() {
        return nativePrefillContext;
    }

    /** Tests: prefill chunks attend natively up to this context (0: never; whatever the kernel's body). */
    void nativePrefillContext(int tokens) {
        requireNativeKernels(tokens > 0);
        nativePrefillContext = tokens;
    }

    /** Whether this model's steps rotate q and k and write the KV cache through the native kernel. */
    boolean nativeRope() {
        return nativeRope;
    }

    /** Tests: rotary embedding and KV write through the native kernel (bf16 caches only) or the script's. */
    void nativeRope(boolean use) {
        requireNativeKernels(use);
        if (use && kvDtype != KvCacheDType.BFLOAT16) {
            throw new IllegalStateException("the native rotary kernel writes bf16 caches, this model's are " + kvDtype);
        }
        nativeRope = use;
    }

    /**
     * Whether each decoder layer of a step runs as one native call ({@code llamaserve::decoder_layer}, or
     * {@code decoder_layer_int8}): bf16 or blocked int8 weights and every op of the layer native (attention, RMSNorm,
     * rotary, SiLU); a step adds that its linears go to the native kernels ({@link #nativeLinears}), and the step
     * script that its rows attend natively. The same kernels in the same order, so the same logits bit for bit,
     * without the script interpreter's and the dispatcher's few microseconds for each of a layer's ~20 ops: the 1B
     * shape's bf16 step outside its linear kernels took 2.60 ms against 3.64 at one row, 9.41 against 10.43 at 16 rows
     * (AMD EPYC Zen 5, 2 cores, alternated in one process; docs/native-cpu-kernels.md, "One call per decoder layer").
     */
    boolean fusedLayers() {
        return fusedLayers && nativeAttention && nativeNorm && nativeRope && nativeSilu;
    }

    /** Tests and benchmarks: each layer in one native call (where the model may) or op by op. */
    void fusedLayers(boolean use) {
        requireNativeKernels(use);
        if (use && quantization != Quantization.NONE && !nativeInt8) {
            throw new IllegalStateException("the fused layer multiplies bf16 or blocked int8 weights, this model's "
                    + quantization + " weights are not blocked");
        }
        fusedLayers = use;
    }

    /**
     * Whether llama_step.py's {@code linear} sends this step's layer weights to the native kernels in {@code mode}:
     * bf16 in mode 8; blocked int8 in modes 6 and 8 (7 and 9 widen them for a bf16 GEMM); W8A8 in modes 6-8.
     */
    private boolean nativeLinears(long mode) {
        return quantization == Quantization.NONE ? mode == 8
                : quantization.int8Activations() ? mode >= 6 && mode <= 8 : mode == 6 || mode == 8;
    }

    /** Whether this model's steps compute the MLP's silu(gate) * up through the native kernel. */
    boolean nativeSilu() {
        return nativeSilu;
    }

    /** Tests: the MLP's silu(gate) * up through the native kernel (where it can run) or the script's two ops. */
    void nativeSilu(boolean use) {
        requireNativeKernels(use);
        if (use && !NativeKernels.siluReady(module)) {
            throw new IllegalStateException("llamaserve::silu_mul cannot run here: the libtorch loaded"
                    + " exports no SLEEF exp for the instruction set in use");
        }
        nativeSilu = use;
    }

    /** Whether this model's int8 weights are blocked for the native int8 kernel. */
    boolean nativeInt8() {
        return nativeInt8;
    }

    /** The most rows a step may have for mode 8 (bf16 weights through the native kernel). */
    int nativeBf16MaxRows() {
        return amxTiles ? CPU_NATIVE_BF16_AMX_MAX_ROWS : CPU_NATIVE_BF16_MAX_ROWS;
    }

    /** Whether this model's int8 linears take AMX tiles, prefill chunks included. */
    boolean int8Amx() {
        return int8Amx;
    }

    /** Whether the native linears took AMX tiles when this model was loaded (bf16 ones in mode 8). */
    boolean amxTiles() {
        return amxTiles;
    }

    /**
     * Tests: run the native kernels with instruction set {@code isa} (the blocked int8 layout is the same for both),
     * with what depends on it taken again as a load on such a CPU takes it (SiLU, the prefill chunks' attention
     * bound); false, changing nothing, where this CPU lacks it. A model loaded without them cannot switch to them.
     */
    boolean nativeKernelsIsa(NativeKernels.Isa isa) {
        if (nativeIsa == NativeKernels.Isa.NONE || isa == NativeKernels.Isa.NONE) {
            throw new IllegalStateException("this model was loaded " + (nativeIsa == NativeKernels.Isa.NONE
                    ? "without native kernels" : "with native kernels: load one without them instead"));
        }
        if (nativeIsa.ordinal() < isa.ordinal()) {
            return false;   // each load starts from the best this CPU has
        }
        NativeKernels.Isa got = NativeKernels.isa(module, isa.ordinal());
        if (got != isa) {
            throw new IllegalStateException(isa + " is not available on this CPU (kernels use " + got + ")");
        }
        isaInUse = isa;
        nativeSilu = NativeKernels.siluReady(module);   // it calls the SLEEF exp of the ISA in use
        nativePrefillContext = CpuKernelSwitches.nativePrefillContext(isa, attentionBody(isa));   // and its attention body's bound
        return true;
    }

    /** {@code decode_attention}'s body for this model's heads on {@code isa}, the one in use (NONE: none in use). */
    private NativeKernels.AttentionBody attentionBody(NativeKernels.Isa isa) {
        return isa == NativeKernels.Isa.NONE ? NativeKernels.AttentionBody.NONE
                : NativeKernels.attentionBody(module, config.numAttentionHeads() / config.numKeyValueHeads(),
                        config.headDim());
    }

    /** The step script with the native kernels' methods (or their libtorch stand-ins): see {@link NativeKernels}. */
    static PtSymbolBlock script(PtNDManager manager) {
        return TorchScriptArchive.load(manager, SCRIPT_CLASS, List.of(SCRIPT, NativeKernels.scriptResource()));
    }

    /**
     * The bf16 one-row mode for this model: 4 oneDNN (CPUs with bf16 dot products), else 6 the native
     * {@code linear_bf16} where loaded (AVX2: oneDNN has no bf16 kernel there), else 2 padded, 0 as is.
     */
    private long bf16SingleRowMode;

    /** The step's weights by Hugging Face name, for benchmarks in this package (owned by the model: do not close). */
    IValue weightsForBenchmarks() {
        return weightsArg;
    }

    /** Whether a one-row step's float weights go through the native {@code linear_bf16} (for benchmarks here). */
    boolean nativeSingleRow() {
        long mode = linearMode(1);
        return mode == 6 || mode == 7 || mode == 8;   // llama_step.py's linear: native_bf16 for one row
    }

    /**
     * Benchmarks compare the one-row bf16 kernels in one process: 0 as is, 2 padded to two rows, 4 oneDNN, 6 the
     * native {@code linear_bf16} (where this model uses the native kernels). Setting one turns the native several-row
     * kernel off ({@link #nativeBf16Gemm(boolean)}), which would otherwise take the row.
     */
    long bf16SingleRowMode() {
        return bf16SingleRowMode;
    }

    /** Sets {@link #bf16SingleRowMode()}; see there. */
    void bf16SingleRowMode(long mode) {
        if (mode != 0 && mode != 2 && mode != 4 && !(mode == 6 && nativeIsa != NativeKernels.Isa.NONE)) {
            throw new IllegalArgumentException("mode must be 0, 2, 4 or (with native kernels) 6, was " + mode);
        }
        bf16SingleRowMode = mode;
        nativeBf16Gemm = false;
    }

    /** Tests: prefill chunks attended {@code queries} at a time instead of {@link #ATTENTION_QUERY_BLOCK}. */
    void attendQueriesInBlocksOf(int queries) {
        if (queries <= 0) {
            throw new IllegalArgumentException("queries must be positive, was " + queries);
        }
        queryBlock = queries;
    }

    /**
     * Benchmarks compare the multi-row kernels in one process: {@code false} hides the packed copies
     * ({@code llm.model.packed-weights}) from the step, which then multiplies several rows as without them.
     */
    void usePackedWeights(boolean use) {
        if (!use && unpackedWeightsArg == null) {
            Map<String, PtNDArray> plain = new HashMap<>(weights);
            plain.keySet().removeIf(n -> n.endsWith(PackedWeights.SUFFIX));
            unpackedWeightsArg = IValue.stringMapFrom(plain);
        }
        stepWeightsArg = use ? weightsArg : unpackedWeightsArg;
    }

    private static long[] widen(int[] v) {
        long[] out = new long[v.length];
        put(out, 0, v);
        return out;
    }

    /**
     * Checks the batch against the pool and vocabulary, so that a bad index fails here and not inside libtorch
     * (context slots are range-checked as {@link PageTables#of} reads them).
     */
    private void validate(ForwardBatch batch) {
        int t = batch.numTokens();
        if (t == 0) {
            throw new IllegalArgumentException("empty batch");
        }
        for (int i = 0; i < t; i++) {
            int id = batch.tokenIds()[i];
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("tokenIds[" + i + "] = " + id + " outside the vocabulary [0, "
                        + config.vocabSize() + ")");
            }
            int s = batch.slotMapping()[i];
            if (s < 0 || s >= kvSlots) {
                throw new IllegalArgumentException("slotMapping[" + i + "] = " + s + " outside the KV pool [0, " + kvSlots + ")");
            }
        }
        int next = 0;
        for (int b = 0; b < batch.numSequences(); b++) {
            int qs = batch.queryStart()[b];
            int ql = batch.queryLen()[b];
            int[] ctx = batch.contextSlots()[b];
            if (qs != next || ql < 1 || qs + ql > t) {
                throw new IllegalArgumentException("sequence " + b + ": rows [" + qs + ", " + (qs + ql)
                        + ") do not follow the previous sequence's rows in [0, " + t + ")");
            }
            next = qs + ql;
            if (ql > maxChunkTokens) {
                throw new IllegalArgumentException("sequence " + b + ": " + ql + " new tokens, more than maxChunkTokens ("
                        + maxChunkTokens + "); chunk long prompts");
            }
            if (ctx.length < ql) {
                throw new IllegalArgumentException("sequence " + b + ": contextSlots has " + ctx.length
                        + " slots, fewer than its " + ql + " new tokens");
            }
            for (int r = qs; r < qs + ql; r++) {
                int p = batch.positions()[r];
                if (p != ctx.length - ql + (r - qs)) {
                    throw new IllegalArgumentException("sequence " + b + ": row " + r + " at position " + p
                            + ", not " + (ctx.length - ql + r - qs) + ": a sequence's new tokens are the last "
                            + ql + " consecutive positions of its context");
                }
                if (p < 0 || p >= ctx.length || ctx[p] != batch.slotMapping()[r]) {
                    throw new IllegalArgumentException("sequence " + b + ": row " + r + " at position " + p
                            + " must be written to contextSlots[" + p + "], the slot it attends as itself");
                }
            }
        }
        if (next != t) {
            throw new IllegalArgumentException("sequences cover " + next + " of " + t + " rows");
        }
        for (int r : batch.logitRows()) {
            if (r < 0 || r >= t) {
                throw new IllegalArgumentException("logitRows has " + r + ", outside [0, " + t + ")");
            }
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        weightsArg.close();
        if (unpackedWeightsArg != null) {
            unpackedWeightsArg.close();
        }
        if (kvScalesArg != kvArg) {
            kvScalesArg.close();
        }
        layersArg.close();
        kvArg.close();
        invFreqArg.close();
        workArg.close();
        module.close();
        manager.close();
        if (device.kind() == DevicePlanner.Kind.CUDA) {
            // libtorch's caching allocator keeps freed blocks for reuse: hand them back to the GPU, so that a model
            // loaded next (a reload, another test) finds the memory free that this one held (Llama8bOnGpuIT)
            JniUtils.emptyCudaCache();
        }
    }
}
