package dev.llamaserve.engine.model;

import static dev.llamaserve.engine.model.CpuKernelSwitches.CPU_BF16_ONEDNN_SINGLE_ROW;
import static dev.llamaserve.engine.model.CpuKernelSwitches.CPU_FP16_UPCAST_ROWS;
import static dev.llamaserve.engine.model.CpuKernelSwitches.CPU_HUGE_PAGES;
import static dev.llamaserve.engine.model.CpuKernelSwitches.CPU_NATIVE_AMX;
import static dev.llamaserve.engine.model.CpuKernelSwitches.CPU_NATIVE_INT8_MAX_ROWS;
import static dev.llamaserve.engine.model.LlamaModel.ATTENTION_QUERY_BLOCK;
import static dev.llamaserve.engine.model.LlamaModel.EMBED_TOKENS;
import static dev.llamaserve.engine.model.LlamaModel.INT8_ACTIVATIONS;
import static dev.llamaserve.engine.model.LlamaModel.INT8_WIDEN_SCRATCH;
import static dev.llamaserve.engine.model.LlamaModel.LM_HEAD;
import static dev.llamaserve.engine.model.LlamaModel.LOGITS_SCRATCH;
import static dev.llamaserve.engine.model.LlamaModel.LOGITS_SCRATCH_ROWS;
import static dev.llamaserve.engine.model.LlamaModel.resolveDType;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.checkpoint.TensorInfo;
import dev.llamaserve.engine.device.DevicePlanner;
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
 * Loads a checkpoint into a {@link LlamaModel}: the step script compiled, the instruction set and kernels chosen, each
 * tensor read in file order and converted (or quantized) on the device, the scratch tensors, the KV pool and the
 * attention workspace made. {@link LlamaModel#load} runs it on a thread that ends with the load.
 */
final class LlamaModelLoader {

    private static final Logger log = LoggerFactory.getLogger(LlamaModelLoader.class);

    private LlamaModelLoader() {}

    static LlamaModel load(Checkpoint checkpoint, ModelOptions options, LoadListener listener) {
        long t0 = System.nanoTime();
        ModelConfig c = checkpoint.config();
        DevicePlanner.DeviceInfo device = DevicePlanner.resolve(options.device());
        ComputeDType dtype = resolveDType(options.dtype(), device, c.torchDtype());
        KvCacheDType kvDtype = options.kvCacheDtype().resolve(dtype);
        LoadListener l = listener == null ? LoadListener.NONE : listener;
        Quantization quantization = options.quantization();
        log.info("Loading {} ({} layers, hidden {}) on {} in {}{}", checkpoint.directory(), c.numHiddenLayers(),
                c.hiddenSize(), device, dtype.optionName(),
                quantization == Quantization.NONE ? "" : ", weights quantized to " + quantization.optionName());

        DevicePlanner.explainCudaProbe();
        PtNDManager manager = (PtNDManager) NDManager.newBaseManager(device.djlDevice(), "PyTorch");
        List<PtNDArray> caches = new ArrayList<>();
        try {
            PtSymbolBlock module = LlamaModel.script(manager);
            NativeKernels.Isa nativeIsa = device.kind() == DevicePlanner.Kind.CPU && dtype == ComputeDType.BFLOAT16
                    && NativeKernels.useInLoads() ? NativeKernels.isa(module, NativeKernels.loadIsa())
                    : NativeKernels.Isa.NONE;
            boolean nativeInt8 = nativeIsa != NativeKernels.Isa.NONE && quantization != Quantization.NONE
                    && NativeKernels.blocksInt8(c, quantization);
            boolean tiles = nativeIsa != NativeKernels.Isa.NONE   // each load sets it again, as the ISA above
                    && NativeKernels.amx(module, CPU_NATIVE_AMX && NativeKernels.amxInLoads() ? 1 : 0);
            if (nativeIsa != NativeKernels.Isa.NONE) {   // AVX2's linears on AVX-512F: each load sets it too
                NativeKernels.avx512fLinear(module, NativeKernels.loadAvx512f());
            }
            boolean amx = tiles && nativeInt8 && !quantization.int8Activations()
                    && NativeKernels.blocksInt8(c, quantization, 16);
            if (quantization.int8Activations()) {
                requireW8a8(quantization, device, dtype, nativeIsa, nativeInt8, NativeKernels.w8a8Ready(module));
            }
            if (kvDtype.fp8()) {
                probeFloat8(module, manager, device);
            }
            if (Int8Weights.usesPack(quantization, dtype, device, c)) {   // a model that never calls it needs no probe
                Int8Weights.probePack(module, dtype, device);
            }
            if (options.packedWeights()) {
                PackedWeights.requireSupported(device.kind(), dtype, quantization, CPU_BF16_ONEDNN_SINGLE_ROW);
            }
            // Read shard by shard in file order for sequential I/O; the step finds each weight by its name.
            List<TensorInfo> io = new ArrayList<>(checkpoint.tensors().values());
            io.sort(Comparator.comparing((TensorInfo t) -> checkpoint.shards().indexOf(t.file()))
                    .thenComparingLong(TensorInfo::offset));
            Map<java.nio.file.Path, Integer> leftInShard = new HashMap<>();
            for (TensorInfo t : io) {
                leftInShard.merge(t.file(), 1, Integer::sum);
            }
            Map<String, PtNDArray> loaded = new HashMap<>();
            Map<String, PtNDArray> scales = new HashMap<>();   // "<name>_scale" of each int8 weight
            long bytesTotal = checkpoint.totalBytes();
            long bytesDone = 0;
            long weightBytes = PackedWeights.residentBytes(c, quantization, dtype.bytes(), options.packedWeights());
            int shardsDone = 0;
            try (PtNDManager cpu = (PtNDManager) NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
                for (int i = 0; i < io.size(); i++) {
                    TensorInfo t = io.get(i);
                    if (quantization.quantizes(t.name())) {
                        loaded.put(t.name(), Int8Weights.quantize(module, manager, cpu, t, t.name(), scales, dtype, device,
                                nativeInt8));
                    } else {
                        loaded.put(t.name(), toCompute(module, manager, cpu, t, dtype, device));
                    }
                    if (c.tieWordEmbeddings() && t.name().equals(EMBED_TOKENS) && quantization.quantizes(LM_HEAD)) {
                        scales.put(LM_HEAD, Int8Weights.quantize(module, manager, cpu, t, LM_HEAD, scales, dtype, device,
                                nativeInt8));
                    }
                    bytesDone += t.byteLength();
                    if (leftInShard.merge(t.file(), -1, Integer::sum) == 0) {
                        shardsDone++;
                    }
                    l.progress(new LoadListener.Progress(t.name(), i + 1, io.size(), shardsDone,
                            checkpoint.shards().size(), bytesDone, bytesTotal));
                }
            }
            Map<String, PtNDArray> weights = stepWeights(c, loaded);
            if (options.packedWeights()) {
                PackedWeights.pack(module, manager, c, weights);   // + <name>_packed of every linear
            }
            weights.putAll(scales);   // with tied embeddings and an int8 lm_head, its own int8 copy replaces embed_tokens
            if (device.kind() == DevicePlanner.Kind.CPU && CPU_HUGE_PAGES) {
                hugePages(module, weights, weightBytes);
            }
            long scratchElements = nativeInt8 && !quantization.int8Activations() && !amx
                    ? NativeKernels.widenScratchElements(c) : 0;   // AMX tiles take prefill chunks too
            if (scratchElements > 0) {
                try (IValue r = IValueUtils.runMethod(module, "new_scratch", IValue.from(scratchElements),
                        IValue.from((long) dtype.torchCode()), IValue.from(device.torchDevice()))) {
                    weights.put(INT8_WIDEN_SCRATCH, r.toTensor(manager));   // [S] bf16
                }
            }
            if (quantization.int8Activations()) {
                try (IValue r = IValueUtils.runMethod(module, "new_scratch", IValue.from(0L),
                        IValue.from((long) ComputeDType.FLOAT32.torchCode()), IValue.from("cpu"))) {
                    weights.put(INT8_ACTIVATIONS, r.toTensor(manager));   // [0]: a flag
                }
            }
            long logitsElements = (long) Math.min(options.maxChunkTokens(), LOGITS_SCRATCH_ROWS) * c.vocabSize();
            try (IValue r = IValueUtils.runMethod(module, "new_scratch", IValue.from(logitsElements),
                    IValue.from((long) ComputeDType.FLOAT32.torchCode()), IValue.from("cpu"))) {
                weights.put(LOGITS_SCRATCH, r.toTensor(manager));   // [S] f32 on cpu
            }
            int slots = options.kvCacheTokens();
            int pageSize = options.kvBlockSize();
            long allocated = ((long) slots + pageSize - 1) / pageSize * pageSize;   // whole pages
            List<PtNDArray> kvScales = new ArrayList<>();
            for (int i = 0; i < 2 * c.numHiddenLayers(); i++) {
                try (IValue r = IValueUtils.runMethod(module, "new_cache", IValue.from(allocated),
                        IValue.from((long) c.numKeyValueHeads()), IValue.from((long) c.headDim()),
                        IValue.from((long) kvDtype.storageTorchCode()), IValue.from(device.torchDevice()),
                        IValue.from(options.kvCachePreTouch()))) {
                    caches.add(r.toTensor(manager));       // [pages * pageSize, KVH, D]
                }
                if (kvDtype.fp8()) {
                    try (IValue r = IValueUtils.runMethod(module, "new_scales", IValue.from(allocated),
                            IValue.from((long) c.numKeyValueHeads()), IValue.from(device.torchDevice()),
                            IValue.from(options.kvCachePreTouch()))) {
                        kvScales.add(r.toTensor(manager));   // [pages * pageSize, KVH] f32
                    }
                }
            }
            double[] inv = c.ropeScaling().inverseFrequencies(c.ropeTheta(), c.headDim());
            PtNDArray invFreq = (PtNDArray) manager.create(inv);   // [D/2] float64
            long kvBytes = allocated * kvDtype.bytesPerToken(c);
            AttentionWorkspace workspace = AttentionWorkspace.forDevice(device.kind(), c, pageSize,
                    options.maxChunkTokens(), ATTENTION_QUERY_BLOCK, allocated);
            IValue work = workspace.create(module, c.numKeyValueHeads(), c.headDim(), kvDtype, device.torchDevice());
            LlamaModel m = new LlamaModel(c, device, dtype, kvDtype, pageSize, quantization, slots,
                    options.maxChunkTokens(), manager, module, weights, caches, kvScales, invFreq, work, nativeIsa,
                    nativeInt8, amx, tiles);
            if (device.kind() == DevicePlanner.Kind.CPU && dtype == ComputeDType.BFLOAT16) {
                log.info("Native kernels: {}", kernels(m, module));
            }
            if (device.kind() == DevicePlanner.Kind.CPU && dtype == ComputeDType.FLOAT16) {
                log.warn("llm.model.dtype=float16 on the CPU is no faster than bfloat16 (auto) for one sequence and"
                        + " several times slower for several: it reads as many bytes, has none of llama-serve's native"
                        + " kernels, and widens every weight to float32 in steps of {} rows and more (README, \"CPU and"
                        + " dtype\")", CPU_FP16_UPCAST_ROWS);
            }
            if (tiles && options.packedWeights()) {
                log.warn("llm.model.packed-weights=true keeps bf16 steps of several rows on oneDNN's packed copy; on"
                        + " this CPU llama-serve's AMX tiles, which it turns off, were faster (README, \"Packed weights\")");
            }
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            log.info("Loaded {} tensors ({} MiB as {}{}), a KV pool of {} slots ({} MiB as {}, pages of {}{}) and an"
                            + " attention workspace of {} MiB on {} in {} ms", io.size(), weightBytes >> 20,
                    dtype.optionName(),
                    (quantization == Quantization.NONE ? "" : " with " + quantization.optionName() + " linears")
                            + (options.packedWeights() ? " and a oneDNN-packed copy of the linears" : ""),
                    slots, kvBytes >> 20, kvDtype.optionName(), pageSize,
                    options.kvCachePreTouch() ? ", pre-touched" : "",
                    (workspace.bytes(c, kvDtype) >> 20) + (scratchElements > 0
                            ? " MiB and an int8 widening scratch of " + (scratchElements * dtype.bytes() >> 20) : ""),
                    device.torchDevice(), took.toMillis());
            l.loaded(new LoadListener.Summary(device, dtype, weightBytes, kvBytes, slots, took));
            return m;
        } catch (RuntimeException | Error e) {
            manager.close();
            throw e;
        }
    }

    /**
     * What the load log says of a CPU bf16 model's kernels: the instruction set, and what takes int8 and bf16 rows, as
     * the model just made chose them ({@code module}: its step script, which the library's switches are asked through).
     */
    private static String kernels(LlamaModel m, PtSymbolBlock module) {
        NativeKernels.Isa nativeIsa = m.nativeIsa();
        Quantization quantization = m.quantization();
        if (nativeIsa == NativeKernels.Isa.NONE) {
            return "not used, libtorch's kernels instead (" + NativeKernels.status() + ")";
        }
        boolean onAvx512f = m.nativeAvx512fLinear();
        String int8 = "";
        if (quantization.int8Activations()) {
            int8 = ", int8 weights blocked for them and the rows of every step quantized to int8 per token ("
                    + quantization.optionName() + ")";
        } else if (m.nativeInt8() && m.int8Amx()) {
            int8 = ", int8 weights blocked for them on AMX tiles (steps of up to 32 rows with 16-bit activations on"
                    + " AMX-INT8, larger ones widened)";
        } else if (m.nativeInt8()) {
            int8 = ", int8 weights blocked for them (steps of at most " + CPU_NATIVE_INT8_MAX_ROWS + " rows"
                    + (onAvx512f ? ", on AVX-512F)" : ")");
        }
        String bf16;
        if (!m.nativeBf16Gemm()) {
            bf16 = CPU_BF16_ONEDNN_SINGLE_ROW ? "" : ", one-row bf16 linears";
        } else {
            int most = m.nativeBf16MaxRows();
            bf16 = ", bf16 linears of "
                    + (most == Integer.MAX_VALUE ? "every step" : "steps of at most " + most + " rows");
            if (m.amxTiles()) {
                bf16 += " on AMX tiles";
            } else if (nativeIsa == NativeKernels.Isa.AVX512_BF16 && NativeKernels.gemmPrefetchL1(module, -1)) {
                bf16 += " (several rows: the next weights prefetched into L1)";
            } else if (onAvx512f) {
                bf16 += " on AVX-512F";
            }
        }
        return nativeIsa + int8 + bf16 + (m.fusedLayers() ? "; each decoder layer in one call" : "");
    }

    /**
     * W8A8 runs only in llama-serve's AVX-512 VNNI kernel ({@code linear_w8a8}, with BF16 or without it: Ice Lake and
     * Cascade Lake servers have VNNI but not BF16) on blocked int8 weights; anything else is one startup error naming
     * the property. {@code vnni}: {@link NativeKernels#w8a8Ready}.
     */
    private static void requireW8a8(Quantization quantization, DevicePlanner.DeviceInfo device, ComputeDType dtype,
                                    NativeKernels.Isa nativeIsa, boolean nativeInt8, boolean vnni) {
        String why = device.kind() != DevicePlanner.Kind.CPU ? "the device is " + device + ", not the CPU"
                : dtype != ComputeDType.BFLOAT16 ? "the compute dtype is " + dtype.optionName() + ", not bfloat16"
                : nativeIsa == NativeKernels.Isa.NONE ? "llama-serve's native kernels are not in use ("
                        + NativeKernels.status() + ")"
                : !vnni ? "this CPU has " + nativeIsa + " but not AVX-512 VNNI"
                : !nativeInt8 ? "a quantized weight's shape does not fit the blocked int8 layout" : null;
        if (why != null) {
            throw new IllegalStateException(Quantization.PROPERTY + "=" + quantization.optionName()
                    + " needs a CPU with AVX-512 VNNI, bfloat16 and llama-serve's native kernels, but "
                    + why + ". Set " + Quantization.PROPERTY + "=int8 (bf16 activations) instead.");
        }
    }

    /**
     * Converts a few values to float8 e4m3 and back on the device: a libtorch without the dtype (or without its
     * conversions on that device) fails here, at load, naming the property, and not in the first step.
     */
    private static void probeFloat8(PtSymbolBlock module, PtNDManager manager, DevicePlanner.DeviceInfo device) {
        float[] got;
        try (IValue r = IValueUtils.runMethod(module, "probe_float8", IValue.from(device.torchDevice()))) {
            got = r.toTensor(manager).toFloatArray();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(KvCacheDType.PROPERTY + "=float8_e4m3 is not available: the libtorch"
                    + " on " + device.torchDevice() + " lacks float8_e4m3fn (" + e.getMessage().strip()
                    + "); set " + KvCacheDType.PROPERTY + "=auto", e);
        }
        if (!java.util.Arrays.equals(got, new float[] {1f, -2f, 448f, 0.5f})) {
            throw new IllegalArgumentException(KvCacheDType.PROPERTY + "=float8_e4m3 is not available: the libtorch on "
                    + device.torchDevice() + " converts [1, -2, 448, 0.5] to " + java.util.Arrays.toString(got)
                    + "; set " + KvCacheDType.PROPERTY + "=auto");
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

    /**
     * Puts the weights on 2 MiB pages ({@link CpuKernelSwitches#CPU_HUGE_PAGES}) and says how many of their bytes
     * went: those written into memory advised first ({@code huge_empty}: {@code to_compute}'s, and the blocked int8
     * weights' copies) are there already (a collapse finds them so at no cost), any others are collapsed now, a copy
     * of each; oneDNN's packed copies are left as they are.
     */
    private static void hugePages(PtSymbolBlock module, Map<String, PtNDArray> weights, long weightBytes) {
        long t0 = System.nanoTime();
        long huge = NativeKernels.hugePages(module, weights.values());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (huge < 0) {
            log.info("Weights on 4 KiB pages: transparent huge pages are off or absent on this host"
                    + " (/sys/kernel/mm/transparent_hugepage/enabled)");
        } else if (huge == 0) {
            log.info("Weights: {}", NativeKernels.load() ? "2 MiB pages advised as they were written, but none could be"
                    + " confirmed (MADV_COLLAPSE needs Linux 6.1, and a free huge page)"
                    : "on 4 KiB pages, the native kernels are not loaded (" + NativeKernels.status() + ")");
        } else {
            log.info("Weights on 2 MiB pages: {} of {} MiB, in {} ms", huge >> 20, weightBytes >> 20, ms);
        }
    }

    /**
     * Maps a tensor, hands its raw bytes to libtorch as uint8 and converts it to the compute dtype on the device (on
     * the CPU, into memory advised onto 2 MiB pages before it is written: {@link CpuKernelSwitches#CPU_HUGE_PAGES}).
     */
    private static PtNDArray toCompute(PtSymbolBlock module, PtNDManager manager, PtNDManager cpu, TensorInfo t,
                                       ComputeDType dtype, DevicePlanner.DeviceInfo device) {
        long[] shape = t.shape();
        long[] rawShape = shape.length == 0 ? new long[] {t.dtype().bytes()} : shape.clone();
        rawShape[rawShape.length - 1] *= shape.length == 0 ? 1 : t.dtype().bytes();
        return Checkpoint.withMapped(t, bytes -> {
            try (PtNDArray raw = (PtNDArray) cpu.create(bytes, new Shape(rawShape), DataType.UINT8);   // [..., n*bytes] u8
                 IValue rawArg = IValue.from(raw);
                 IValue r = IValueUtils.runMethod(module, "to_compute", rawArg,
                         IValue.from((long) ComputeDType.torchCode(t.dtype())), IValue.from((long) dtype.torchCode()),
                         IValue.from(device.torchDevice()),
                         IValue.from(device.kind() == DevicePlanner.Kind.CPU && CPU_HUGE_PAGES && NativeKernels.load()))) {
                return r.toTensor(manager);                // [..., n] compute dtype on the device (view_copy: a copy)
            }
        });
    }
}
