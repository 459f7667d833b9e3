package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What a generation request is charged at admission (OpenAI's counting). */
class TokenAdmissionTest {

    @Test
    void promptOncePlusMaxTokensPerChoice() {
        assertThat(TokenAdmission.charge(100, 50, 4096)).isEqualTo(150);
        assertThat(TokenAdmission.charge(100, 50, 4096, 4)).isEqualTo(100 + 4 * 50);
        assertThat(TokenAdmission.charge(100, null, 4096, 2)).as("unset max_tokens: the context left, per choice")
                .isEqualTo(100 + 2 * 3996);
        assertThat(TokenAdmission.charge(100, 50, 4096, 0)).as("n unset reads as 1").isEqualTo(150);
    }
}
