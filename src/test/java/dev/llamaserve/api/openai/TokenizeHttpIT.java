package dev.llamaserve.api.openai;

import static dev.llamaserve.api.openai.ErrorMapHttpIT.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.chat.ChatJson;
import java.io.InputStream;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/** POST /tokenize and /detokenize (vLLM's shapes) on the real server, chat format and tokenizer. */
class TokenizeHttpIT extends RealEngineWebTest {

    private int bos() {
        return tokenizer.specialTokens().beginOfText();
    }

    @Test
    void tokenizeAPromptAndBack() throws Exception {
        JsonNode r = json(post("/tokenize", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Hello world\"}").body());
        int[] ids = tokenizer.encode("Hello world", true);
        assertThat(r.get("count").asInt()).isEqualTo(ids.length + 1);
        assertThat(r.get("max_model_len").asInt()).isEqualTo(MAX_MODEL_LEN);
        assertThat(r.get("tokens").get(0).asInt()).isEqualTo(bos());
        assertThat(r.has("prompt")).isFalse();
        JsonNode plain = json(post("/tokenize", "{\"prompt\":\"Hello world\",\"add_special_tokens\":false}").body());
        assertThat(plain.get("count").asInt()).isEqualTo(ids.length);
        assertThat(plain.get("tokens").get(0).asInt()).isEqualTo(ids[0]);

        assertThat(r.has("token_strs")).isFalse();
        JsonNode strs = json(post("/tokenize", "{\"prompt\":\"Hello world\",\"return_token_strs\":true}").body());
        assertThat(strs.get("tokens")).isEqualTo(r.get("tokens"));
        assertThat(strs.get("token_strs")).hasSize(ids.length + 1);
        assertThat(strs.get("token_strs").get(0).asString()).isEqualTo("<|begin_of_text|>");
        StringBuilder spelled = new StringBuilder();
        for (int i = 1; i < strs.get("token_strs").size(); i++) {
            spelled.append(strs.get("token_strs").get(i).asString());
        }
        assertThat(spelled.toString()).isEqualTo("HelloĠworld");

        JsonNode text = json(post("/detokenize", "{\"tokens\":" + r.get("tokens") + "}").body());
        assertThat(text.get("prompt").asString()).isEqualTo("<|begin_of_text|>Hello world");
        // an integral float is a token id here as in the completions prompt (vLLM's pydantic reads 9906.0 as 9906)
        StringBuilder floats = new StringBuilder();
        for (JsonNode id : r.get("tokens")) {
            floats.append(floats.length() == 0 ? "[" : ",").append(id.asInt()).append(".0");
        }
        JsonNode fromFloats = json(post("/detokenize", "{\"tokens\":" + floats + "]}").body());
        assertThat(fromFloats.get("prompt").asString()).isEqualTo("<|begin_of_text|>Hello world");
    }

    @Test
    void tokenizeMessagesIsExactlyTheChatPrompt() throws Exception {
        String messages = "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}]";
        JsonNode r = json(post("/tokenize", "{\"messages\":" + messages + "}").body());
        assertThat(r.get("prompt").asString()).startsWith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>")
                .contains("Be brief.").endsWith("<|start_header_id|>assistant<|end_header_id|>\n\n");
        // the chat endpoint's prompt_tokens for the same messages
        JsonNode chat = json(post("/v1/chat/completions", "{\"messages\":" + messages + "," + greedy(1) + "}").body());
        assertThat(r.get("count").asInt()).isEqualTo(chat.get("usage").get("prompt_tokens").asInt());
        JsonNode noGen = json(post("/tokenize", "{\"messages\":" + messages + ",\"add_generation_prompt\":false}").body());
        assertThat(noGen.get("prompt").asString()).endsWith("Hi<|eot_id|>");
    }

    /** tool_choice "none" keeps the tools out of the prompt on both endpoints (/tokenize counted the tool list). */
    @Test
    void tokenizeWithToolsCountsWhatChatCounts() throws Exception {
        String tools = ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":"
                + "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}]";
        String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";
        for (String choice : new String[] {"", ",\"tool_choice\":\"none\"", ",\"tool_choice\":\"auto\""}) {
            JsonNode r = json(post("/tokenize", "{" + messages + tools + choice + "}").body());
            JsonNode chat = json(post("/v1/chat/completions", "{" + messages + tools + choice + "," + greedy(1) + "}")
                    .body());
            assertThat(r.get("count").asInt()).as(choice).isEqualTo(chat.get("usage").get("prompt_tokens").asInt());
            assertThat(r.get("prompt").asString().contains("get_weather")).as(choice)
                    .isEqualTo(!choice.contains("none"));
        }
    }

    @Test
    void toolNumbersRenderAsPythonDoesThroughHttp() throws Exception {
        JsonNode fixture;
        try (InputStream in = getClass().getResourceAsStream("/fixtures/tiny-llama31/reference-outputs.json")) {
            fixture = ChatJson.MAPPER.readTree(in);
        }
        JsonNode c = null;
        for (JsonNode k : fixture.get("chat_template")) {
            if (k.get("name").asString().equals("tools_json_formatting")) {
                c = k;
            }
        }
        assertThat(c).isNotNull();
        // as an OpenAI client sends it: arguments as a JSON string, ids on the call and the result
        ArrayNode messages = (ArrayNode) c.get("messages").deepCopy();
        ObjectNode function = (ObjectNode) messages.get(1).get("tool_calls").get(0).get("function");
        function.put("arguments", ChatJson.MAPPER.writeValueAsString(function.get("arguments")));
        ((ObjectNode) messages.get(1)).putNull("content");
        ((ObjectNode) messages.get(1).get("tool_calls").get(0)).put("id", "call_1");
        ((ObjectNode) messages.get(2)).put("tool_call_id", "call_1");
        // the fixture's own JSON text of the tools: 1e+16, 3.0, 0.1 as written
        String body = "{\"messages\":" + ChatJson.MAPPER.writeValueAsString(messages) + ",\"tools\":"
                + c.get("tools") + "}";
        JsonNode r = json(post("/tokenize", body).body());
        assertThat(r.get("prompt").asString()).isEqualTo(c.get("rendered").asString());

        // -0.0 keeps its sign, 1e+16 stays a float, 3.0 keeps its ".0" (Python's json.dumps)
        String tool = "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\","
                + "\"properties\":{\"a\":{\"type\":\"number\",\"default\":-0.0},\"b\":{\"type\":\"number\",\"default\":1e+16},"
                + "\"c\":{\"type\":\"number\",\"default\":3.0}}}}}]";
        String prompt = json(post("/tokenize", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":" + tool
                + "}").body()).get("prompt").asString();
        assertThat(prompt).contains("\"default\": -0.0").contains("\"default\": 1e+16").contains("\"default\": 3.0");
        // the API's own limits still apply before the chat layer
        assertError(post("/tokenize", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"x\":"
                + "9".repeat(5000) + "}]}"), 400, "invalid_request_error", null, "invalid_json");
    }

    @Test
    void errorsNameTheField() throws Exception {
        assertError(post("/tokenize", "{}"), 400, "invalid_request_error", "prompt", "missing_required_parameter");
        assertError(post("/tokenize", "{\"prompt\":7}"), 400, "invalid_request_error", "prompt", "invalid_type");
        assertError(post("/detokenize", "{\"tokens\":[1,-1]}"), 400, "invalid_request_error", "tokens[1]", "invalid_value");
        assertError(post("/detokenize", "{}"), 400, "invalid_request_error", "tokens", "missing_required_parameter");
        assertError(post("/detokenize", "{\"tokens\":7}"), 400, "invalid_request_error", "tokens", "invalid_type");
        assertError(post("/detokenize", "{\"tokens\":[1,\"a\"]}"), 400, "invalid_request_error", "tokens[1]",
                "invalid_type");
        assertError(post("/detokenize", "{\"tokens\":[1,1.5]}"), 400, "invalid_request_error", "tokens[1]",
                "invalid_type");
        assertError(post("/detokenize", "{\"tokens\":[99999999999]}"), 400, "invalid_request_error", "tokens[0]",
                "invalid_value");
        assertError(post("/tokenize", "{\"messages\":[{\"role\":\"user\"}]}"), 400, "invalid_request_error",
                "messages[0].content", "missing_required_parameter");
    }
}
