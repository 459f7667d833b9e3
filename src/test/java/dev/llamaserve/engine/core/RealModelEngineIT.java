package dev.llamaserve.engine.core;

import dev.llamaserve.chat.LlamaTokenizer;
import dev.llamaserve.engine.Detokenizer;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.checkpoint.Checkpoint;
import dev.llamaserve.engine.model.CausalLm;
import dev.llamaserve.engine.model.GenerationConfigParser;
import dev.llamaserve.engine.model.LlamaModel;
import dev.llamaserve.engine.model.LoadListener;
import dev.llamaserve.engine.model.ModelConfig;
import dev.llamaserve.engine.model.ModelOptions;
import dev.llamaserve.engine.testing.TestDevice;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;

/**
 * The engine contract on the REAL model and tokenizer: the tiny Llama 3.1 fixture checkpoint (GQA, llama3
 * RoPE scaling, bf16 weights) through the TorchScript forward pass in float32 on the CPU, and the fixture's
 * Hugging Face tokenizer.
 */
class RealModelEngineIT extends EngineContractTest {

    private static final Path DIR = fixture();
    private static final Checkpoint CHECKPOINT = Checkpoint.open(DIR);
    private static LlamaTokenizer tokenizer;

    private static Path fixture() {
        try {
            return Path.of(RealModelEngineIT.class.getResource("/fixtures/tiny-llama31/config.json").toURI())
                    .getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @AfterAll
    static void closeTokenizer() {
        if (tokenizer != null) {
            tokenizer.close();
            tokenizer = null;
        }
    }

    @Override
    protected CausalLm newModel() {
        return LlamaModel.load(CHECKPOINT, new ModelOptions(TestDevice.option(), "float32", 8704, 512), LoadListener.NONE);
    }

    @Override
    protected synchronized Detokenizer detokenizer() {
        if (tokenizer == null) {
            tokenizer = LlamaTokenizer.load(DIR);
        }
        return tokenizer;
    }

    @Override
    protected ModelInfo modelInfo() {
        ModelConfig config = CHECKPOINT.config();
        Set<Integer> eos = GenerationConfigParser.read(DIR).stopTokenIds(config);
        return new ModelInfo(8192, config.vocabSize(), eos, 0.6, 0.9, false, null);
    }

    @Override
    protected int[] prompt(int length, int salt) {
        int bos = ((LlamaTokenizer) detokenizer()).specialTokens().beginOfText();
        int[] p = new int[length];
        p[0] = bos;
        for (int i = 1; i < length; i++) {
            p[i] = 1 + Math.floorMod(salt * 131 + i * 17 + (i * i) % 7, 500);
        }
        return p;
    }
}
