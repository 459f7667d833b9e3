package dev.llamaserve.config;

import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.core.EngineOptions;
import dev.llamaserve.engine.core.LlmEngine;
import dev.llamaserve.engine.model.GenerationConfig;
import dev.llamaserve.engine.sampling.SamplingDefaults;
import dev.llamaserve.ops.lifecycle.ModelLifecycle;

/**
 * What the lifecycle's loading thread runs: loads the {@link ModelRuntime} (checkpoint, tokenizer, memory
 * plan, weights with the progress log) and starts the engine on it; keeps the runtime for the beans that
 * need the tokenizer once it is loaded, and closes it with the context.
 */
final class ModelLoading implements ModelLifecycle.Loader, AutoCloseable {

    private final LlmProperties props;
    private final OpsProperties ops;
    private final ModelLoadHooks hooks;
    private volatile ModelRuntime runtime;

    ModelLoading(LlmProperties props, OpsProperties ops, ModelLoadHooks hooks) {
        this.props = props;
        this.ops = ops;
        this.hooks = hooks;
    }

    /** @throws ModelStartupException with a message that says what to change */
    @Override
    public ModelLifecycle.Loaded load() {
        ModelRuntime r = ModelRuntime.load(props, hooks.loadListener());
        runtime = r;
        try {
            ModelInfo info = modelInfo(r);
            GenerationConfig g = r.generationConfig();
            LlmProperties.Engine e = props.engine();
            EngineOptions options = EngineOptions.defaults()
                    .withBatchLimits(e.maxNumBatchedTokens(), e.maxNumSeqs())
                    .withMaxWaiting(e.maxWaiting())
                    .withMaxBufferedEvents(e.maxBufferedEvents())
                    .withBlockSize(e.blockSize())
                    .withPrefixCaching(e.prefixCaching())
                    .withKvTokenBudget(Math.toIntExact(r.plan().kvTokens()))
                    .withDrainTimeout(ops.drainTimeout());
            SamplingDefaults defaults = new SamplingDefaults(g.defaultTemperature(), g.defaultTopP(), g.defaultTopK(),
                    info.eosTokenIds(), g.defaultRepetitionPenalty());
            LlmEngine engine = LlmEngine.start(hooks.decorate(r.model()), r.tokenizer(), info, defaults, options);
            return new ModelLifecycle.Loaded(engine, warmUpPrompt(r.tokenizer(), info.maxModelLen()));
        } catch (RuntimeException ex) {
            r.model().close();
            throw new ModelStartupException("the engine could not start on the loaded model: " + ex.getMessage(), ex);
        }
    }

    static ModelInfo modelInfo(ModelRuntime r) {
        GenerationConfig g = r.generationConfig();
        // a padded vocabulary's ids past the tokenizer have no text: never taken in, never sampled
        return new ModelInfo(r.plan().maxModelLen(),
                Math.min(r.model().config().vocabSize(), r.tokenizer().vocabSize()),
                r.stopTokenIds(), g.defaultTemperature(), g.defaultTopP(), r.demo(),
                r.tokenizer().eosTokenId().orElse(null));
    }

    /**
     * {@code <|begin_of_text|>Hello}: a short prompt any checkpoint's tokenizer encodes, cut to leave its one
     * completion token room within {@code maxModelLen} (a max-model-len of 2 warms up on the first token alone).
     */
    static int[] warmUpPrompt(LlamaTokenizer tokenizer, int maxModelLen) {
        int[] text = tokenizer.encode("Hello", false);
        int[] prompt = new int[Math.max(1, Math.min(text.length + 1, maxModelLen - 1))];
        prompt[0] = tokenizer.specialTokens().beginOfText();
        System.arraycopy(text, 0, prompt, 1, prompt.length - 1);
        return prompt;
    }

    /** The loaded runtime; call only after the lifecycle's {@code awaitLoaded()} returned. */
    ModelRuntime runtime() {
        ModelRuntime r = runtime;
        if (r == null) {
            throw new IllegalStateException("the model is not loaded");
        }
        return r;
    }

    @Override
    public void close() {
        ModelRuntime r = runtime;
        if (r != null) {
            r.close();
        }
    }
}
