package dev.llamaserve.engine.model;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.checkpoint.TensorInfo;
import dev.llamaserve.engine.device.DevicePlanner;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hugging Face {@code LlamaForCausalLM} on libtorch: one TorchScript method call per step for the whole
 * batch ({@code llama_step.py}, compiled by libtorch at load), weights in the compute dtype on the device,
 * and a paged KV pool of {@code kvCacheTokens} slots per layer. Not thread-safe: the engine thread calls it.
 */
public final class LlamaModel implements CausalLm {

    private static final Logger log = LoggerFactory.getLogger(LlamaModel.class);
    static final String SCRIPT = "/dev/llamaserve/engine/model/llama_step.py";
    static final String SCRIPT_CLASS = "LlamaForCausalLM";
    static final String EMBED_TOKENS = "model.embed_tokens.weight";
    static final String LM_HEAD = "lm_head.weight";
    /**
     * On the CPU (AVX2), float16 {@code linear} has a fast GEMV for one row but grows linearly with rows;
     * from this many rows a float16 step multiplies in float32, widening each weight on the fly (measured on
     * the 1B shape: fp16 8 rows ≈ fp32 8 rows; 512 rows 4× faster widened). bfloat16 matmul is emulated on
     * such CPUs and always slower than widening (see LlamaModelBenchmark).
     */
    static final int CPU_FP16_UPCAST_ROWS = Integer.getInteger("llamaserve.cpuFp16UpcastRows", 16);
    /** On the CPU, a one-row bfloat16 linear runs as two rows: libtorch's bf16 GEMV path is slower than its GEMM. */
    static final boolean CPU_BF16_PAD_SINGLE_ROW =
            Boolean.parseBoolean(System.getProperty("llamaserve.cpuBf16PadSingleRow", "true"));
    /**
     * A one-row bfloat16 linear on the CPU calls oneDNN's linear ({@code mkldnn::_linear_pointwise}) instead of
     * padding to two rows, on CPUs with native bf16 dot products ({@code avx512_bf16} or {@code amx_bf16} in
     * {@code /proc/cpuinfo}; oneDNN refuses bf16 on plain AVX2). Measured with {@code LlamaModelBenchmark}'s
     * mode comparison on the 1B shape (Zen 4, 2 cores, shared machine, interleaved step by step, 9 each):
     * decode step 99 ms median (oneDNN) vs 169 ms (padded) vs 227 ms (as is).
     * {@code -Dllamaserve.cpuBf16OneDnnSingleRow=true|false} overrides the detection.
     */
    static final boolean CPU_BF16_ONEDNN_SINGLE_ROW = Boolean.parseBoolean(
            System.getProperty("llamaserve.cpuBf16OneDnnSingleRow", Boolean.toString(CpuFeatures.hasNativeBf16())));

    static final boolean GRAPH_OPTIMIZER = Boolean.getBoolean("llamaserve.graphOptimizer");

    private final ModelConfig config;
    private final DevicePlanner.DeviceInfo device;
    private final ComputeDType dtype;
    private final int kvSlots;
    private final int maxChunkTokens;
    private final PtNDManager manager;
    private final PtSymbolBlock module;
    private final Map<String, PtNDArray> weights;   // Hugging Face name -> tensor, lm_head.weight always present
    private final List<PtNDArray> kvCaches;   // k_cache_0, v_cache_0, ... each [kvSlots, KVH, D]
    private final IValue weightsArg;          // Dict[str, Tensor], built once
    private final IValue kvArg;               // List[Tensor], built once
    private final PtNDArray invFreq;          // [D/2] float64
    private final IValue invFreqArg;
    private boolean closed;

    private LlamaModel(ModelConfig config, DevicePlanner.DeviceInfo device, ComputeDType dtype, int kvSlots,
                       int maxChunkTokens, PtNDManager manager, PtSymbolBlock module, Map<String, PtNDArray> weights,
                       List<PtNDArray> kvCaches, PtNDArray invFreq) {
        this.config = config;
        this.device = device;
        this.dtype = dtype;
        this.kvSlots = kvSlots;
        this.maxChunkTokens = maxChunkTokens;
        this.manager = manager;
        this.module = module;
        this.weights = weights;
        this.kvCaches = kvCaches;
        this.weightsArg = IValue.stringMapFrom(weights);
        this.kvArg = IValue.listFrom(kvCaches.toArray(new PtNDArray[0]));
        this.invFreq = invFreq;
        this.invFreqArg = IValue.from(invFreq);
    }

    /** The compute dtype {@code auto} means on a device: bfloat16 on CUDA, {@link #CPU_AUTO_DTYPE} on the CPU. */
    public static ComputeDType resolveDType(String option, DevicePlanner.DeviceInfo device) {
        ComputeDType d = ComputeDType.parse(option);
        if (d != null) {
            return d;
        }
        return device.kind() == DevicePlanner.Kind.CUDA ? ComputeDType.BFLOAT16 : CPU_AUTO_DTYPE;
    }

    /**
     * What {@code dtype=auto} computes in on the CPU: bfloat16. Measured with {@code LlamaModelBenchmark}
     * (Llama-3.2-1B shape, libtorch 2.7.1, 2 AVX2 cores, best of several runs on a shared machine):
     * float32 decode 254 ms/step, 8-sequence decode 688 ms/step, prefill 69 tok/s; float16 decode 82 ms,
     * 8-sequence 590 ms, prefill 46–52 tok/s (widened to float32 from 16 rows; 13 tok/s without);
     * bfloat16 decode 138–144 ms, 8-sequence 258–296 ms, prefill 163–173 tok/s (128 tokens). float16 is the
     * fastest for one lone sequence on an idle machine; bfloat16 is 2× faster batched, 3× faster at prefill,
     * the least disturbed by other load, and the checkpoint's own dtype (no conversion, no float16 overflow).
     */
    public static final ComputeDType CPU_AUTO_DTYPE = ComputeDType.BFLOAT16;

    public static LlamaModel load(Checkpoint checkpoint, ModelOptions options, LoadListener listener) {
        long t0 = System.nanoTime();
        ModelConfig c = checkpoint.config();
        DevicePlanner.DeviceInfo device = DevicePlanner.resolve(options.device());
        ComputeDType dtype = resolveDType(options.dtype(), device);
        LoadListener l = listener == null ? LoadListener.NONE : listener;
        log.info("Loading {} ({} layers, hidden {}) on {} in {}", checkpoint.directory(), c.numHiddenLayers(),
                c.hiddenSize(), device, dtype.optionName());

        DevicePlanner.explainCudaProbe();
        PtNDManager manager = (PtNDManager) NDManager.newBaseManager(device.djlDevice(), "PyTorch");
        List<PtNDArray> caches = new ArrayList<>();
        try {
            PtSymbolBlock module = TorchScriptArchive.load(manager, SCRIPT, SCRIPT_CLASS);
            // Read shard by shard in file order for sequential I/O; the step finds each weight by its name.
            List<TensorInfo> io = new ArrayList<>(checkpoint.tensors().values());
            io.sort(Comparator.comparing((TensorInfo t) -> checkpoint.shards().indexOf(t.file()))
                    .thenComparingLong(TensorInfo::offset));
            Map<java.nio.file.Path, Integer> leftInShard = new HashMap<>();
            for (TensorInfo t : io) {
                leftInShard.merge(t.file(), 1, Integer::sum);
            }
            Map<String, PtNDArray> loaded = new HashMap<>();
            long bytesTotal = checkpoint.totalBytes();
            long bytesDone = 0;
            long weightBytes = 0;
            int shardsDone = 0;
            try (PtNDManager cpu = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
                for (int i = 0; i < io.size(); i++) {
                    TensorInfo t = io.get(i);
                    loaded.put(t.name(), toCompute(module, manager, cpu, t, dtype, device));
                    bytesDone += t.byteLength();
                    weightBytes += t.elementCount() * dtype.bytes();
                    if (leftInShard.merge(t.file(), -1, Integer::sum) == 0) {
                        shardsDone++;
                    }
                    l.progress(new LoadListener.Progress(t.name(), i + 1, io.size(), shardsDone,
                            checkpoint.shards().size(), bytesDone, bytesTotal));
                }
            }
            Map<String, PtNDArray> weights = stepWeights(c, loaded);
            int slots = options.kvCacheTokens();
            for (int i = 0; i < 2 * c.numHiddenLayers(); i++) {
                try (IValue r = IValueUtils.runMethod(module, "new_cache", IValue.from((long) slots),
                        IValue.from((long) c.numKeyValueHeads()), IValue.from((long) c.headDim()),
                        IValue.from((long) dtype.torchCode()), IValue.from(device.torchDevice()))) {
                    caches.add(r.toTensor(manager));       // [slots, KVH, D]
                }
            }
            double[] inv = c.ropeScaling().inverseFrequencies(c.ropeTheta(), c.headDim());
            PtNDArray invFreq = (PtNDArray) manager.create(inv);   // [D/2] float64
            long kvBytes = (long) slots * c.kvElementsPerToken() * dtype.bytes();
            LlamaModel m = new LlamaModel(c, device, dtype, slots, options.maxChunkTokens(), manager, module,
                    weights, caches, invFreq);
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            log.info("Loaded {} tensors ({} MiB as {}) and a KV pool of {} slots ({} MiB) on {} in {} ms",
                    io.size(), weightBytes >> 20, dtype.optionName(), slots, kvBytes >> 20,
                    device.torchDevice(), took.toMillis());
            l.loaded(new LoadListener.Summary(device, dtype, weightBytes, kvBytes, slots, took));
            return m;
        } catch (RuntimeException | Error e) {
            manager.close();
            throw e;
        }
    }

    /**
     * The weights as {@code llama_step.py} reads them: by Hugging Face name, exactly the names of
     * {@link ModelConfig#tensorShapes()} (the one layout), plus {@code lm_head.weight} = {@code embed_tokens}
     * when the embeddings are tied. A checkpoint whose names differ fails here, naming what is missing or extra.
     */
    static <T> Map<String, T> stepWeights(ModelConfig config, Map<String, T> byName) {
        Set<String> expected = config.tensorShapes().keySet();
        Set<String> missing = new TreeSet<>(expected);
        missing.removeAll(byName.keySet());
        Set<String> extra = new TreeSet<>(byName.keySet());
        extra.removeAll(expected);
        if (!missing.isEmpty() || !extra.isEmpty()) {
            throw new IllegalStateException("the weights do not match the " + config.numHiddenLayers()
                    + "-layer Llama layout: missing " + missing + ", unexpected " + extra);
        }
        Map<String, T> out = new LinkedHashMap<>();
        for (String name : expected) {
            out.put(name, byName.get(name));
        }
        if (config.tieWordEmbeddings()) {
            out.put(LM_HEAD, byName.get(EMBED_TOKENS));
        }
        return out;
    }

    /** Maps a tensor, hands its raw bytes to libtorch as uint8 and converts it to the compute dtype on the device. */
    private static PtNDArray toCompute(PtSymbolBlock module, PtNDManager manager, PtNDManager cpu, TensorInfo t,
                                       ComputeDType dtype, DevicePlanner.DeviceInfo device) {
        ByteBuffer bytes = Checkpoint.map(t);
        long[] shape = t.shape();
        long[] rawShape = shape.length == 0 ? new long[] {t.dtype().bytes()} : shape.clone();
        rawShape[rawShape.length - 1] *= shape.length == 0 ? 1 : t.dtype().bytes();
        try (PtNDArray raw = (PtNDArray) cpu.create(bytes, new Shape(rawShape), DataType.UINT8);   // [..., n*bytes] u8
             IValue rawArg = IValue.from(raw);
             IValue r = IValueUtils.runMethod(module, "to_compute", rawArg,
                     IValue.from((long) ComputeDType.torchCode(t.dtype())), IValue.from((long) dtype.torchCode()),
                     IValue.from(device.torchDevice()))) {
            return r.toTensor(manager);                    // [..., n] compute dtype on the device
        }
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

    public DevicePlanner.DeviceInfo device() {
        return device;
    }

    public int maxChunkTokens() {
        return maxChunkTokens;
    }

    @Override
    public float[] forward(ForwardBatch batch) {
        if (closed) {
            throw new IllegalStateException("model is closed");
        }
        validate(batch);
        int t = batch.numTokens();
        int b = batch.numSequences();
        long[] ctxStart = new long[b];
        long[] ctxLen = new long[b];
        int total = 0;
        for (int i = 0; i < b; i++) {
            ctxStart[i] = total;
            ctxLen[i] = batch.contextSlots()[i].length;
            total += batch.contextSlots()[i].length;
        }
        long[] ctx = new long[total];                                    // context_slots, widened and range-checked
        for (int i = 0, k = 0; i < b; i++) {                             // in one pass (the hot path's longest loop)
            for (int s : batch.contextSlots()[i]) {
                if (s < 0 || s >= kvSlots) {
                    throw new IllegalArgumentException("sequence " + i + ": context slot " + s
                            + " outside the KV pool [0, " + kvSlots + ")");
                }
                ctx[k++] = s;
            }
        }
        long linearMode = linearMode(t);
        List<IValue> args = new ArrayList<>();
        try (NDManager step = manager.newSubManager()) {
            args.add(IValue.from(tensor(step, batch.tokenIds())));      // token_ids [T]
            args.add(IValue.from(tensor(step, batch.positions())));     // positions [T]
            args.add(IValue.from(tensor(step, batch.slotMapping())));   // slot_mapping [T]
            args.add(IValue.listFrom(widen(batch.queryStart())));       // query_start [B]
            args.add(IValue.listFrom(widen(batch.queryLen())));         // query_len [B]
            args.add(IValue.from((PtNDArray) step.create(ctx)));         // context_slots [sum C]
            args.add(IValue.listFrom(ctxStart));                        // context_start [B]
            args.add(IValue.listFrom(ctxLen));                          // context_len [B]
            args.add(IValue.from(tensor(step, batch.logitRows())));     // logit_rows [R]
            args.add(IValue.from((long) config.numHiddenLayers()));
            args.add(IValue.from((long) config.numAttentionHeads()));
            args.add(IValue.from((long) config.numKeyValueHeads()));
            args.add(IValue.from((long) config.headDim()));
            args.add(IValue.from(config.rmsNormEps()));
            args.add(IValue.from(linearMode));
            IValue[] all = new IValue[3 + args.size()];
            all[0] = weightsArg;
            all[1] = kvArg;
            all[2] = invFreqArg;
            for (int i = 0; i < args.size(); i++) {
                all[3 + i] = args.get(i);
            }
            if (!GRAPH_OPTIMIZER) {
                JniUtils.setGraphExecutorOptimize(false);
            }
            try (IValue out = IValueUtils.runMethod(module, "step", all)) {
                PtNDArray logits = out.toTensor((PtNDManager) step);   // [R, V] float32 on cpu
                return logits.toFloatArray();
            }
        } finally {
            for (IValue v : args) {
                v.close();
            }
        }
    }

    /** How {@code llama_step.py}'s {@code linear} multiplies this step: 0 as is, 1 widened to float32, 2 one row padded to two. */
    private long linearMode(int rows) {
        if (device.kind() != DevicePlanner.Kind.CPU) {
            return 0;
        }
        if (dtype == ComputeDType.FLOAT16 && rows >= CPU_FP16_UPCAST_ROWS) {
            return 1;
        }
        if (dtype == ComputeDType.BFLOAT16 && bf16SingleRowMode != 0) {
            return bf16SingleRowMode;
        }
        return 0;
    }

    /** The bf16 one-row mode for this model: 3 oneDNN, 2 padded, 0 as is. */
    private long bf16SingleRowMode = CPU_BF16_ONEDNN_SINGLE_ROW ? 3 : CPU_BF16_PAD_SINGLE_ROW ? 2 : 0;

    /** Benchmarks compare the one-row bf16 kernels in one process: 0 as is, 2 padded to two rows, 3 oneDNN. */
    void bf16SingleRowMode(long mode) {
        if (mode != 0 && mode != 2 && mode != 3) {
            throw new IllegalArgumentException("mode must be 0, 2 or 3, was " + mode);
        }
        bf16SingleRowMode = mode;
    }

    private static PtNDArray tensor(NDManager m, int[] values) {
        return (PtNDArray) m.create(widen(values));                    // [n] int64
    }

    private static long[] widen(int[] v) {
        long[] out = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    /**
     * Checks the batch against the pool and vocabulary, so that a bad index fails here and not inside libtorch
     * (context slots are range-checked as {@link #forward} widens them).
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
        kvArg.close();
        invFreqArg.close();
        module.close();
        manager.close();
    }
}
