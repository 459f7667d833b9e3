package dev.llamaserve.config;

import dev.llamaserve.chat.ChatOptions;
import dev.llamaserve.engine.core.EngineOptions;
import dev.llamaserve.engine.device.MemoryPlan;
import java.nio.file.Path;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Every {@code llm.*} setting except {@code llm.api.*} (see the API's own properties). The README's table
 * lists them with their defaults.
 *
 * @param cacheDir where the demo checkpoint is written when no model path is set; default
 *     {@code .cache/llama-serve} in the user's home directory
 * @param model which checkpoint to serve and how
 * @param engine scheduling and KV-cache limits
 * @param chat chat-template settings
 */
@ConfigurationProperties(prefix = "llm")
public record LlmProperties(
        Path cacheDir,
        @DefaultValue Model model,
        @DefaultValue Engine engine,
        @DefaultValue Chat chat) {

    public LlmProperties {
        // Not @DefaultValue("${user.home}/..."): binder defaults are not placeholder-resolved (that wrote the
        // demo into a folder literally named "${user.home}" under the working directory).
        if (cacheDir == null) {
            cacheDir = defaultCacheDir();
        }
    }

    /** {@code ~/.cache/llama-serve}: the real home directory's. */
    public static Path defaultCacheDir() {
        return Path.of(System.getProperty("user.home"), ".cache", "llama-serve");
    }

    /**
     * @param path Hugging Face checkpoint directory (env {@code LLM_MODEL_PATH}); empty: the built-in demo
     *     checkpoint with random weights
     * @param servedName the model id clients send; default: the checkpoint directory's name
     *     ({@code llama-3.1-demo-random} for the demo)
     * @param aliases other ids accepted for the same model
     * @param device {@code auto}, {@code cpu} or {@code gpu:N}
     * @param dtype {@code auto}, {@code float32}, {@code float16} or {@code bfloat16}
     * @param quantization {@code none}, {@code int8} (weight-only int8 linears, made at load),
     *     {@code int8-lm-head} (the output projection too), {@code w8a8} / {@code w8a8-lm-head} (the same weights,
     *     the activations quantized to int8 per token for VNNI dot products: CPUs with AVX-512)
     * @param packedWeights keep a second copy of the linear weights in oneDNN's packed layout for batched decode
     *     and prefill (CPU, bfloat16 with native bf16 dot products; costs the linears' bytes again)
     * @param cpuThreads libtorch's CPU threads: {@code auto} (the JVM's available processors, which follow a
     *     container's CPU limit, at most libtorch's default) or a number ({@code CpuThreads})
     */
    public record Model(
            Path path,
            String servedName,
            @DefaultValue List<String> aliases,
            @DefaultValue("auto") String device,
            @DefaultValue("auto") String dtype,
            @DefaultValue("none") String quantization,
            @DefaultValue("false") boolean packedWeights,
            @DefaultValue("auto") String cpuThreads) {}

    /**
     * @param maxNumBatchedTokens tokens one engine step may process (prefill chunks and decodes together)
     * @param maxNumSeqs sequences running at once
     * @param maxWaiting requests queued before submit answers "overloaded"
     * @param maxBufferedEvents events a slow consumer may fall behind before its request is aborted
     * @param kvCacheMemory KV-cache budget: {@code auto} (on a GPU, the memory free after the weights less a step's
     *     own, {@code MemoryPlan.cudaStepReserve}, or 10 %, whichever is larger; 25 % of free host memory on CPU) or
     *     a size such as {@code 8GiB}
     * @param maxModelLen longest sequence (prompt + completion); default: the model's
     *     {@code max_position_embeddings}, lowered with a warning to what the KV budget holds
     * @param blockSize tokens per KV-cache block
     * @param prefixCaching automatic prefix caching: full KV blocks are kept by content (LRU, evicted before
     *     any request is preempted) and a prompt that starts with them skips their prefill
     * @param kvCacheDtype what the KV cache stores: {@code auto} (the compute dtype), {@code bfloat16},
     *     {@code float16}, {@code float32} or {@code float8_e4m3} (1 byte per element and a scale per token and
     *     head: about half the memory of bfloat16)
     * @param kvCachePreTouch write the whole KV pool once at startup, so that its memory is committed (and the
     *     pod's resident size reached) before the first request, as the JVM's {@code -XX:+AlwaysPreTouch} does for
     *     the heap; off: the pool's pages are committed as sequences first use them (startup is faster, and the
     *     process grows towards the planned size while it serves)
     */
    public record Engine(
            @DefaultValue("" + MemoryPlan.DEFAULT_STEP_TOKENS) int maxNumBatchedTokens,
            @DefaultValue("16") int maxNumSeqs,
            @DefaultValue("256") int maxWaiting,
            @DefaultValue("4096") int maxBufferedEvents,
            @DefaultValue("auto") String kvCacheMemory,
            Integer maxModelLen,
            @DefaultValue("16") int blockSize,
            @DefaultValue("true") boolean prefixCaching,
            @DefaultValue("auto") String kvCacheDtype,
            @DefaultValue("false") boolean kvCachePreTouch) {

        /** The engine's own limits, checked as they are bound: a wrong one stops the start before the load. */
        public Engine {
            EngineOptions.checkLimits(maxNumBatchedTokens, maxNumSeqs, maxWaiting, maxBufferedEvents, blockSize);
            if (maxModelLen != null && maxModelLen < 2) {   // a prompt of one token and a completion of one
                throw new IllegalArgumentException("llm.engine.max-model-len must be >= 2 (a one-token prompt and "
                        + "one completion token), was " + maxModelLen);
            }
        }
    }

    /**
     * @param enabled {@code auto} (on when the checkpoint has a chat template), {@code true} or {@code false}
     *     (bound case-insensitively; anything else stops the start, naming the property)
     * @param dateString the "Today Date" of the system header
     * @param rejectSpecialTokens refuse (400) request text that contains special-token text, instead of
     *     encoding it as plain text
     * @param maxMessages most messages in one conversation
     */
    public record Chat(
            @DefaultValue("auto") ChatOptions.Enabled enabled,
            @DefaultValue(ChatOptions.DEFAULT_DATE) String dateString,
            @DefaultValue("false") boolean rejectSpecialTokens,
            @DefaultValue("256") int maxMessages) {

        /** Checked as bound (the chat format is made at the first request): the chat layer's own rule. */
        public Chat {
            options(enabled, dateString, rejectSpecialTokens, maxMessages);
        }

        public ChatOptions options() {
            return options(enabled, dateString, rejectSpecialTokens, maxMessages);
        }

        private static ChatOptions options(ChatOptions.Enabled enabled, String dateString, boolean rejectSpecialTokens,
                int maxMessages) {
            return new ChatOptions(dateString, rejectSpecialTokens, maxMessages, enabled);
        }
    }
}
