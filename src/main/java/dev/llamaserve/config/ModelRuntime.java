package dev.llamaserve.config;

import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.checkpoint.CheckpointException;
import dev.llamaserve.engine.checkpoint.DType;
import dev.llamaserve.engine.checkpoint.DemoCheckpoint;
import dev.llamaserve.engine.device.DevicePlanner;
import dev.llamaserve.engine.device.KvCacheMemory;
import dev.llamaserve.engine.device.MemoryPlan;
import dev.llamaserve.engine.model.ComputeDType;
import dev.llamaserve.engine.model.CpuThreads;
import dev.llamaserve.engine.model.GenerationConfig;
import dev.llamaserve.engine.model.GenerationConfigParser;
import dev.llamaserve.engine.model.KvCacheDType;
import dev.llamaserve.engine.model.LlamaModel;
import dev.llamaserve.engine.model.LoadListener;
import dev.llamaserve.engine.model.ModelOptions;
import dev.llamaserve.engine.model.Quantization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loaded model and everything read from its checkpoint directory: resolves the directory (or writes
 * the demo checkpoint), opens and validates the checkpoint, picks device and dtype, plans memory, loads the
 * weights with progress in the log, and logs one summary.
 */
public final class ModelRuntime implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ModelRuntime.class);

    private final Path directory;
    private final boolean demo;
    private final String servedName;
    private final Checkpoint checkpoint;
    private final GenerationConfig generationConfig;
    private final MemoryPlan plan;
    private final LlamaModel model;
    private final LlamaTokenizer tokenizer;

    private ModelRuntime(Path directory, boolean demo, String servedName, Checkpoint checkpoint,
            GenerationConfig generationConfig, MemoryPlan plan, LlamaModel model, LlamaTokenizer tokenizer) {
        this.directory = directory;
        this.demo = demo;
        this.servedName = servedName;
        this.checkpoint = checkpoint;
        this.generationConfig = generationConfig;
        this.plan = plan;
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /** @throws ModelStartupException with a message that says what to change */
    public static ModelRuntime load(LlmProperties props) {
        return load(props, LoadListener.NONE);
    }

    /**
     * Loads with {@code listener} told of the weight load's progress besides the progress log.
     *
     * @throws ModelStartupException with a message that says what to change
     */
    public static ModelRuntime load(LlmProperties props, LoadListener listener) {
        try {
            return loadOrThrow(props, listener);
        } catch (ModelStartupException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ModelStartupException(e.getMessage(), e);
        }
    }

    /**
     * The model id clients send: {@code llm.model.served-name}, else the demo's name for the demo checkpoint,
     * else the checkpoint directory's name. Known before the model loads.
     */
    public static String servedName(LlmProperties props) {
        LlmProperties.Model m = props.model();
        if (m.servedName() != null && !m.servedName().isBlank()) {
            return m.servedName();
        }
        if (!configured(m)) {
            return DemoCheckpoint.DEMO_SERVED_NAME;
        }
        Path dir = m.path().toAbsolutePath().normalize();
        return DemoCheckpoint.isDemo(dir) ? DemoCheckpoint.DEMO_SERVED_NAME : dir.getFileName().toString();
    }

    private static boolean configured(LlmProperties.Model m) {
        return m.path() != null && !m.path().toString().isBlank();
    }

    private static ModelRuntime loadOrThrow(LlmProperties props, LoadListener listener) {
        long t0 = System.nanoTime();
        LlmProperties.Model m = props.model();
        boolean configured = configured(m);
        Path dir = configured ? m.path().toAbsolutePath().normalize() : DemoCheckpoint.writeIfAbsent(props.cacheDir());
        if (configured && !Files.isDirectory(dir)) {
            throw new IllegalStateException("llm.model.path (LLM_MODEL_PATH) is " + dir
                    + ", which is not a directory. Point it at a Hugging Face checkpoint directory"
                    + " (config.json, tokenizer.json, *.safetensors).");
        }
        boolean demo = DemoCheckpoint.isDemo(dir);
        if (demo) {
            log.warn("No llm.model.path (LLM_MODEL_PATH) set: serving the built-in DEMO checkpoint '{}' from {}."
                    + " Its weights are RANDOM: it produces random text. Set LLM_MODEL_PATH to a Llama 3.1"
                    + " checkpoint directory to serve a real model.", DemoCheckpoint.DEMO_SERVED_NAME, dir);
        }
        String servedName = servedName(props);

        Quantization quantization = Quantization.parse(m.quantization());
        quantization.requireFloatCheckpoint(dir);
        Checkpoint checkpoint = Checkpoint.open(dir);
        GenerationConfig generation = GenerationConfigParser.read(dir);
        ComputeDType requested = requireDType(m.dtype());
        DevicePlanner.DeviceInfo device = DevicePlanner.resolve(m.device());
        log.info("{}", CpuThreads.apply(m.cpuThreads()));   // before any libtorch kernel runs
        ComputeDType dtype = requested != null ? requested : LlamaModel.resolveDType("auto", device,
                checkpoint.config().torchDtype());

        MemoryPlan.Device memory = device.kind() == DevicePlanner.Kind.CUDA
                ? MemoryPlan.Device.cuda(device.totalBytes(), device.freeBytes())
                : MemoryPlan.Device.cpu(device.totalBytes(), device.freeBytes());
        LlmProperties.Engine e = props.engine();
        KvCacheDType kvDtype = KvCacheDType.parse(e.kvCacheDtype());
        MemoryPlan plan = MemoryPlan.plan(checkpoint.config(), storedType(dtype), quantization, memory,
                KvCacheMemory.parse(e.kvCacheMemory()), e.maxModelLen(), e.blockSize(), kvDtype, m.packedWeights(),
                e.maxNumBatchedTokens(), e.maxNumSeqs());
        plan.warnings().forEach(w -> log.warn("{}", w));

        // the tokenizer before the weights: a broken or foreign tokenizer fails in a second, not after minutes of load
        LlamaTokenizer tokenizer = LlamaTokenizer.load(dir);
        LlamaModel model;
        try {
            requireTokenizerFits(tokenizer, checkpoint.config().vocabSize(), dir);
            turnsThatNeverStop(generation.stopTokenIds(checkpoint.config(), tokenizer.eosTokenId()), tokenizer)
                    .ifPresent(w -> log.warn("{} ({})", w, dir));
            model = LlamaModel.load(checkpoint,
                    new ModelOptions(deviceOption(device), dtype.optionName(), Math.toIntExact(plan.kvTokens()),
                            e.maxNumBatchedTokens(), kvDtype, e.blockSize(), quantization, m.packedWeights(),
                            e.kvCachePreTouch()),
                    new ProgressLog(listener));
        } catch (RuntimeException ex) {
            tokenizer.close();
            throw ex;
        }
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        log.info("Model '{}' loaded in {} ms{}: {}", servedName, took.toMillis(),
                demo ? " (DEMO, random weights: output is random text)" : "", plan.summary());
        return new ModelRuntime(dir, demo, servedName, checkpoint, generation, plan, model, tokenizer);
    }

    /**
     * The tokenizer's ids within the model's vocabulary (its embedding and lm_head rows): a tokenizer of another
     * model (Llama 3's 128,256 ids against a smaller vocab_size) would only fail at the first prompt. A smaller
     * tokenizer (a padded vocabulary) is allowed, with a warning: ids past it have no text.
     */
    static void requireTokenizerFits(LlamaTokenizer tokenizer, int vocabSize, Path dir) {
        if (tokenizer.vocabSize() > vocabSize) {
            throw new CheckpointException(dir.resolve("tokenizer.json") + " has token ids up to "
                    + (tokenizer.vocabSize() - 1) + " but " + dir.resolve("config.json") + " vocab_size is " + vocabSize
                    + ": the tokenizer belongs to another model");
        }
        if (tokenizer.vocabSize() < vocabSize) {
            log.warn("{} has {} token ids, config.json vocab_size {} (a padded vocabulary): ids from {} have no text,"
                    + " so they are never sampled (their logits are -inf) nor accepted in a request",
                    dir.resolve("tokenizer.json"), tokenizer.vocabSize(), vocabSize, tokenizer.vocabSize());
        }
    }

    /**
     * A warning where the chat template's end of turn ({@code <|eot_id|>}) is not a stop id (an eos_token_id of
     * config.json without it, no generation_config.json to add it, nor the tokenizer's eos_token): every chat answer
     * would run to max_tokens.
     */
    static Optional<String> turnsThatNeverStop(Set<Integer> stopIds, LlamaTokenizer tokenizer) {
        int eot = tokenizer.specialTokens().endOfTurn();
        if (stopIds.contains(eot)) {
            return Optional.empty();
        }
        return Optional.of("The chat template ends each turn with <|eot_id|> (id " + eot + "), which is not"
                + " among the stop ids " + new TreeSet<>(stopIds) + " (config.json's and generation_config.json's"
                + " eos_token_id, tokenizer_config.json's eos_token): chat answers will run to max_tokens");
    }

    private static String deviceOption(DevicePlanner.DeviceInfo device) {
        return device.kind() == DevicePlanner.Kind.CUDA ? "gpu:" + device.index() : "cpu";
    }

    private static ComputeDType requireDType(String option) {
        String o = option == null ? "auto" : option.trim().toLowerCase(Locale.ROOT);
        if (o.equals("auto")) {
            return null;
        }
        ComputeDType d = ComputeDType.parse(o);
        if (d == null) {
            throw new IllegalArgumentException("llm.model.dtype must be auto, float32, float16 or bfloat16, was '"
                    + option + "'");
        }
        return d;
    }

    private static DType storedType(ComputeDType d) {
        return switch (d) {
            case FLOAT32 -> DType.F32;
            case FLOAT16 -> DType.F16;
            case BFLOAT16 -> DType.BF16;
        };
    }

    /** Logs loading progress at every 10 % and once per shard, and passes it on to {@code next}. */
    private static final class ProgressLog implements LoadListener {
        private final LoadListener next;
        private int lastDecile = -1;
        private int lastShards = 0;

        ProgressLog(LoadListener next) {
            this.next = next;
        }

        @Override
        public void progress(Progress p) {
            next.progress(p);
            int decile = (int) (p.percent() / 10);
            if (decile != lastDecile || p.shardsLoaded() != lastShards) {
                lastDecile = decile;
                lastShards = p.shardsLoaded();
                log.info("Loading weights: {}/{} shards, {}/{} tensors, {} of {} MiB ({}%)", p.shardsLoaded(),
                        p.shardsTotal(), p.tensorsLoaded(), p.tensorsTotal(), p.bytesLoaded() >> 20,
                        p.bytesTotal() >> 20, String.format(Locale.ROOT, "%.0f", p.percent()));
            }
        }

        @Override
        public void loaded(Summary s) {
            next.loaded(s);
            log.info("Weights loaded on {} in {} ms: {} MiB of weights in {}, KV pool {} MiB ({} token slots)",
                    s.device(), s.elapsed().toMillis(), s.weightBytes() >> 20, s.dtype().optionName(),
                    s.kvCacheBytes() >> 20, s.kvSlots());
        }
    }

    public Path directory() {
        return directory;
    }

    public boolean demo() {
        return demo;
    }

    public String servedName() {
        return servedName;
    }

    public Checkpoint checkpoint() {
        return checkpoint;
    }

    /** The ids that end a completion: generation_config.json's, config.json's and the tokenizer's eos ids. */
    public Set<Integer> stopTokenIds() {
        return generationConfig.stopTokenIds(checkpoint.config(), tokenizer.eosTokenId());
    }

    public GenerationConfig generationConfig() {
        return generationConfig;
    }

    public MemoryPlan plan() {
        return plan;
    }

    public LlamaModel model() {
        return model;
    }

    public LlamaTokenizer tokenizer() {
        return tokenizer;
    }

    /** Closes the tokenizer; the model is owned (and closed) by the engine. */
    @Override
    public void close() {
        tokenizer.close();
    }
}
