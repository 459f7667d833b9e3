package dev.llamaserve.ops.access;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The access log's text line: a client's value (the model it names) can neither start a line nor add a field. */
class AccessRecordTest {

    private static String line(String model) {
        return new AccessRecord("req-1", "team-a", "POST", "/v1/chat/completions", model, 200, null, 12, false)
                .message();
    }

    @Test
    void plainValuesStayAsTheyAre() {
        assertThat(line("llama3")).isEqualTo("request_id=req-1 key_id=team-a method=POST endpoint=/v1/chat/completions"
                + " model=llama3 status=200 prompt_tokens=- completion_tokens=- ttft_ms=- duration_ms=12"
                + " finish_reason=- client_closed=false");
        assertThat(line("org/Llama-3.1-8B-Instruct")).contains(" model=org/Llama-3.1-8B-Instruct ");
    }

    @Test
    void aValueThatWouldForgeALineOrAFieldIsQuotedAndEscaped() {
        String forged = line("evil\nrequest_id=FORGED key_id=admin status=200");
        assertThat(forged).doesNotContain("\n").hasLineCount(1)
                .contains(" model=\"evil\\nrequest_id=FORGED key_id=admin status=200\" status=200 ");
        assertThat(line("a b")).contains(" model=\"a b\" ");
        assertThat(line("x=y")).contains(" model=\"x=y\" ");
        assertThat(line("q\"\\")).contains(" model=\"q\\\"\\\\\" ");
        assertThat(line("")).contains(" model=\"\" ");
        assertThat(line("bell\u0007 ls\u2028ps\u2029")).contains(" model=\"bell\\u0007 ls\\u2028ps\\u2029\" ");
        assertThat(line("tab\tcr\r")).contains(" model=\"tab\\tcr\\r\" ");
    }
}
