package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.SamplingParams;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a generation request is charged at admission (OpenAI's counting). */
class TokenAdmissionTest {

    @Test
    void promptOncePlusMaxTokensPerChoice() {
        assertThat(TokenAdmission.charge(100, 50, 1)).isEqualTo(150);
        assertThat(TokenAdmission.charge(100, 50, 4)).isEqualTo(100 + 4 * 50);
        assertThat(TokenAdmission.charge(100, 50, 0)).as("n unset reads as 1").isEqualTo(150);
    }

    /** An unset max_tokens is charged as the engine resolves it: all the context the prompt leaves. */
    @Test
    void anUnsetMaxTokensIsWhatTheEngineResolves() {
        ModelInfo model = new ModelInfo(4096, 1000, Set.of(2), 1.0, 1.0, false);
        GenerationRequest request = new GenerationRequest("r", new int[100],
                SamplingParams.builder().n(2).build(), GenerationRequest.ParamNames.CHAT);
        int maxTokens = request.validate(model).maxTokens();
        assertThat(maxTokens).isEqualTo(3996);
        assertThat(TokenAdmission.charge(100, maxTokens, request.params().choices())).isEqualTo(100 + 2 * 3996);
    }
}
