package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.SamplingParams;
import org.junit.jupiter.api.Test;

/** What a generation request is charged at admission (OpenAI's counting). */
class TokenAdmissionTest {

    @Test
    void promptOncePlusMaxTokensPerChoice() {
        assertThat(TokenAdmission.charge(100, 50, 1)).isEqualTo(150);
        assertThat(TokenAdmission.charge(100, 50, 4)).isEqualTo(100 + 4 * 50);
        assertThat(TokenAdmission.charge(100, 50, 0)).as("n unset reads as 1").isEqualTo(150);
    }

    /** An unset max_tokens is charged as the engine resolves it: all the context the prompt leaves, per choice. */
    @Test
    void anUnsetMaxTokensIsChargedAsTheEngineResolvesIt() {
        ScriptedEngine engine = new ScriptedEngine(FixtureTokenizer.get());
        int maxModelLen = engine.modelInfo().maxModelLen();
        long[] charged = new long[1];
        TokenAdmission admission = (exchange, tokens) -> charged[0] = tokens;
        GenerationRequest request = new GenerationRequest("r", new int[100],
                SamplingParams.builder().n(2).build(), GenerationRequest.ParamNames.CHAT);
        admission.admit(null, request, engine);
        assertThat(charged[0]).isEqualTo(100 + 2L * (maxModelLen - 100));
        admission.admit(null, new GenerationRequest("s", new int[100], SamplingParams.builder().maxTokens(7).build(),
                GenerationRequest.ParamNames.CHAT), engine);
        assertThat(charged[0]).isEqualTo(107);
    }
}
