package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class VllmOptionsNotServedTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static JsonNode body(String fields) {
        return JSON.readTree("{" + fields + "}");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "\"guided_json\": {\"type\": \"object\"}     | guided_json                | response_format",
            "\"guided_regex\": \"[a-z]+\"                | guided_regex               | response_format",
            "\"guided_choice\": [\"a\", \"b\"]           | guided_choice              | response_format",
            "\"guided_grammar\": \"root ::= x\"          | guided_grammar             | response_format",
            "\"structured_outputs\": {\"json\": {}}      | structured_outputs         | response_format",
            "\"allowed_token_ids\": [1, 2]               | allowed_token_ids          | does not apply",
            "\"logits_processors\": [\"x\"]              | logits_processors          | does not apply",
            "\"prompt_logprobs\": 1                      | prompt_logprobs            | does not apply",
            "\"truncate_prompt_tokens\": 100             | truncate_prompt_tokens     | does not apply",
            "\"bad_words\": [\"no\"]                     | bad_words                  | does not apply",
            "\"include_stop_str_in_output\": true        | include_stop_str_in_output | never part of the output",
            "\"use_beam_search\": true                   | use_beam_search            | beams",
            "\"skip_special_tokens\": false              | skip_special_tokens        | never part of the output",
            "\"echo\": true                              | echo                       | never repeats the prompt",
            "\"chat_template\": \"{{ messages }}\"       | chat_template              | Llama 3.1 template"})
    void anOptionThatWouldChangeTheAnswerIsRefusedByName(String field, String name, String why) {
        assertThatThrownBy(() -> VllmOptionsNotServed.refuse(body(field), true))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.param()).isEqualTo(name);
                    assertThat(e.code()).isEqualTo("unsupported_value");
                    assertThat(e.getMessage())
                            .startsWith("'" + name + "' (a vLLM option) is not supported: ").contains(why);
                });
    }

    @Test
    void vllmsDefaultsAndNullsPass() {
        assertThatCode(() -> VllmOptionsNotServed.refuse(body("\"guided_json\": null, \"structured_outputs\": null,"
                + " \"allowed_token_ids\": null, \"bad_words\": [], \"include_stop_str_in_output\": false,"
                + " \"use_beam_search\": false, \"skip_special_tokens\": true, \"echo\": false, \"chat_template\": null,"
                + " \"spaces_between_special_tokens\": false, \"top_k\": 5"), true)).doesNotThrowAnyException();
    }

    /** Legacy completions answer their own echo (and have no chat template): those two are chat's only here. */
    @Test
    void echoAndChatTemplateAreChatsOnly() {
        assertThatCode(() -> VllmOptionsNotServed.refuse(body("\"echo\": true, \"chat_template\": \"x\""), false))
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> VllmOptionsNotServed.refuse(body("\"guided_json\": {}"), false))
                .isInstanceOf(ApiException.class).hasMessageContaining("guided_json");
    }

    @Test
    void aBooleanOfAnotherTypeIsATypeError() {
        assertThatThrownBy(() -> VllmOptionsNotServed.refuse(body("\"skip_special_tokens\": \"no\""), true))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo("invalid_type"));
    }
}
