package dev.llamaserve.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/** Template behaviour beyond the fixture cases (expected texts follow the Jinja source line by line). */
class ChatTemplateBehaviourTest {

    private static final LlamaTokenizer tok = TinyLlamaFixture.tokenizer();
    private static final String SYSTEM_HEADER = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";
    private final ChatFormat chat = new ChatFormat(tok, ChatOptions.defaults());

    private String render(String messages, boolean addGenerationPrompt) {
        return chat.prepare(new ChatInput(ChatJson.parse(messages), null, addGenerationPrompt, null)).text();
    }

    private static JsonNode fixtureCase(String name) {
        for (JsonNode c : TinyLlamaFixture.reference().get("chat_template").values()) {
            if (c.get("name").stringValue().equals(name)) {
                return c;
            }
        }
        throw new AssertionError("no fixture case " + name);
    }

    @Test
    void developerIsSystem() {
        String asDeveloper = render("[{\"role\":\"developer\",\"content\":\" Be brief. \"},{\"role\":\"user\",\"content\":\"hi\"}]", true);
        String asSystem = render("[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"hi\"}]", true);
        assertThat(asDeveloper).isEqualTo(asSystem).isEqualTo(SYSTEM_HEADER + "Be brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    /** vLLM's continue_final_message: the rendering cut right after the last message's (trimmed) content. */
    @Test
    void continueFinalMessageEndsThePromptInsideTheLastAssistantMessage() {
        String messages = "[{\"role\":\"user\",\"content\":\"Say a JSON\"},{\"role\":\"assistant\",\"content\":\"{\\\"answer\\\": \"}]";
        String closed = render(messages, false);
        String continued = chat.prepare(new ChatInput(ChatJson.parse(messages), null, false, null, true)).text();
        assertThat(closed).endsWith("{\"answer\":<|eot_id|>");
        assertThat(continued).isEqualTo(closed.substring(0, closed.length() - "<|eot_id|>".length()))
                .endsWith("<|start_header_id|>assistant<|end_header_id|>\n\n{\"answer\":");
    }

    @Test
    void continueFinalMessageNeedsTheGenerationPromptOffAndAnAssistantMessageLast() {
        String messages = "[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"Hel\"}]";
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> chat.prepare(new ChatInput(ChatJson.parse(messages),
                        null, true, null, true)))
                .isInstanceOfSatisfying(dev.llamaserve.engine.InvalidRequestException.class, e -> {
                    assertThat(e.param()).isEqualTo("continue_final_message");
                    assertThat(e.getMessage()).contains("cannot both be true");
                });
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> chat.prepare(new ChatInput(
                        ChatJson.parse("[{\"role\":\"user\",\"content\":\"hi\"}]"), null, false, null, true)))
                .isInstanceOfSatisfying(dev.llamaserve.engine.InvalidRequestException.class, e -> {
                    assertThat(e.param()).isEqualTo("continue_final_message");
                    assertThat(e.getMessage()).contains("messages[0] is a user message");
                });
    }

    @Test
    void aLaterSystemMessageIsASystemTurn() {
        assertThat(render("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"system\",\"content\":\"\\n b \"},"
                + "{\"role\":\"developer\",\"content\":\"c\"}]", false)).isEqualTo(SYSTEM_HEADER + "<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\na<|eot_id|>"
                + "<|start_header_id|>system<|end_header_id|>\n\nb<|eot_id|>"
                + "<|start_header_id|>system<|end_header_id|>\n\nc<|eot_id|>");
    }

    @Test
    void textPartsAreJoinedWithNewlinesThenTrimmed() {
        assertThat(render("[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\" one \"},"
                + "{\"type\":\"text\",\"text\":\"two\\u3000\"}]}]", false))
                .isEqualTo(SYSTEM_HEADER + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\none \ntwo<|eot_id|>");
    }

    @Test
    void pythonTrimStripsUnicodeWhitespaceLikeStrStrip() {
        assertThat(PyText.strip("\u00a0\u2007\u202f\u3000\u001f x \u0085\u2028")).isEqualTo("x");
        assertThat(PyText.strip("\u200b x \ufeff")).isEqualTo("\u200b x \ufeff"); // not whitespace in Python
    }

    @Test
    void compactArgumentStringsRenderAsTheTemplatesTojson() {
        JsonNode c = fixtureCase("tools_json_formatting");
        ArrayNode messages = (ArrayNode) c.get("messages").deepCopy();
        ObjectNode function = (ObjectNode) messages.get(1).get("tool_calls").get(0).get("function");
        String compact = ChatJson.MAPPER.writeValueAsString(function.get("arguments")); // e.g. 1.0E16 from Java
        assertThat(compact).doesNotContain(": ");
        function.put("arguments", compact);
        ((ObjectNode) messages.get(1)).putNull("content");
        ((ObjectNode) messages.get(1).get("tool_calls").get(0)).put("id", "call_1");
        ((ObjectNode) messages.get(2)).put("tool_call_id", "call_1");
        String text = chat.prepare(new ChatInput(messages, c.get("tools"), true, null)).text();
        assertThat(text).isEqualTo(c.get("rendered").stringValue());
    }

    @Test
    void toolResultGivenAsTextPartsGoesThroughTojson() {
        String text = render("[{\"role\":\"user\",\"content\":\"w?\"},{\"role\":\"assistant\",\"tool_calls\":[{\"type\":"
                + "\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"{\\\"x\\\":-0.0,\\\"y\\\":2.5e-8}\"}}]},"
                + "{\"role\":\"tool\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"\\\"b\\\"\"}]}]", false);
        assertThat(text).endsWith("<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"w\", \"parameters\": "
                + "{\"x\": -0.0, \"y\": 2.5e-08}}<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n\n"
                + "\"a\\n\\\"b\\\"\"<|eot_id|>");
    }

    /**
     * OpenAI clients send parallel calls back as one assistant message and then one tool message per call, in any
     * order. Llama 3.1's template renders one call per turn: each call followed by its result, matched by id.
     */
    @Test
    void parallelCallsRenderOneCallPerTurnEachFollowedByItsResult() {
        String user = "{\"role\":\"user\",\"content\":\"w?\"}";
        String a = call("call_a", "w", "{\\\"city\\\":\\\"Oslo\\\"}");
        String b = call("call_b", "t", "{}");
        String parallel = render("[" + user + ",{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[" + a + "," + b
                + "]},{\"role\":\"tool\",\"tool_call_id\":\"call_b\",\"content\":\"12:00\"},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"call_a\",\"content\":\"sun\"}]", true);
        String oneByOne = render("[" + user + ",{\"role\":\"assistant\",\"tool_calls\":[" + a + "]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"call_a\",\"content\":\"sun\"},"
                + "{\"role\":\"assistant\",\"tool_calls\":[" + b + "]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"call_b\",\"content\":\"12:00\"}]", true);
        assertThat(parallel).isEqualTo(oneByOne).endsWith("<|start_header_id|>assistant<|end_header_id|>\n\n"
                + "{\"name\": \"w\", \"parameters\": {\"city\": \"Oslo\"}}<|eot_id|>"
                + "<|start_header_id|>ipython<|end_header_id|>\n\n\"sun\"<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"t\", \"parameters\": {}}<|eot_id|>"
                + "<|start_header_id|>ipython<|end_header_id|>\n\n\"12:00\"<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");

        // results without ids pair in order; a call left without a result is followed by the next call
        String noIds = render("[" + user + ",{\"role\":\"assistant\",\"tool_calls\":[" + call(null, "w", "{}") + ","
                + call(null, "t", "{}") + "," + call(null, "u", "{}") + "]},{\"role\":\"tool\",\"content\":\"r1\"},"
                + "{\"role\":\"tool\",\"content\":\"r2\"}]", false);
        assertThat(noIds).containsSubsequence("\"w\"", "\"r1\"", "\"t\"", "\"r2\"", "\"u\"");
        assertThat(noIds.indexOf("\"r2\"")).isLessThan(noIds.indexOf("\"name\": \"u\""));
    }

    private static String call(String id, String name, String arguments) {
        return "{" + (id == null ? "" : "\"id\":\"" + id + "\",") + "\"type\":\"function\",\"function\":{\"name\":\""
                + name + "\",\"arguments\":\"" + arguments + "\"}}";
    }

    @Test
    void dateComesFromOptionsThenFromTheRequest() {
        ChatFormat configured = new ChatFormat(tok, new ChatOptions("1 Jan 2030", false, 256, ChatOptions.Enabled.AUTO));
        JsonNode messages = ChatJson.parse("[{\"role\":\"user\",\"content\":\"d\"}]");
        assertThat(configured.prepare(new ChatInput(messages, null, true, null)).text()).contains("Today Date: 1 Jan 2030\n\n");
        assertThat(configured.prepare(new ChatInput(messages, null, true, ChatJson.parse("{\"date_string\":\"29 Nov 2026\","
                + "\"unused\":1}"))).text()).contains("Today Date: 29 Nov 2026\n\n");
    }

    @Test
    void toolsInTheSystemMessageWhenAsked() {
        JsonNode c = fixtureCase("tools_in_user_message");
        String text = chat.prepare(new ChatInput(c.get("messages"), c.get("tools"), true,
                ChatJson.parse("{\"tools_in_user_message\": false}"))).text();
        String toolJson = PyJson.dumps(c.get("tools").get(0), 4);
        assertThat(text).isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Environment: ipython\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
                + "You have access to the following functions. To call a function, please respond with JSON for a "
                + "function call.Respond in the format {\"name\": function name, \"parameters\": dictionary of argument "
                + "name and its value}.Do not use variables.\n\n" + toolJson + "\n\nYou help with weather.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nWeather in Stockholm?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void emptyToolsAndEmptyToolCallsCountAsAbsent() {
        JsonNode messages = ChatJson.parse("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\","
                + "\"tool_calls\":[]}]");
        String withEmpty = chat.prepare(new ChatInput(messages, ChatJson.parse("[]"), false, null)).text();
        assertThat(withEmpty).isEqualTo(render("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}]", false))
                .doesNotContain("Environment: ipython");
    }

    @Test
    void templateCheckRecognisesTheOfficialTemplateAndDescribesADifference() {
        String official = tok.chatTemplate().orElseThrow();
        assertThat(ChatTemplateCheck.difference(official)).isEmpty();
        assertThat(ChatTemplateCheck.difference(official + "\n")).isEmpty();
        String changed = official.replace("26 Jul 2024", "01 Jan 2025");
        assertThat(ChatTemplateCheck.difference(changed)).hasValueSatisfying(d -> assertThat(d)
                .contains("differs from the Llama 3.1 template at line 9").contains("26 Jul 2024").contains("01 Jan 2025"));
        assertThat(ChatTemplateCheck.difference(official + "\n{{- 'extra' }}")).hasValueSatisfying(d ->
                assertThat(d).contains("more line(s) than the Llama 3.1 template").contains("{{- 'extra' }}"));
        assertThat(ChatTemplateCheck.difference(official.substring(0, official.indexOf("{%- if add_generation_prompt"))))
                .hasValueSatisfying(d -> assertThat(d).contains("continues with \"{%- if add_generation_prompt %}\""));
    }

    @Test
    void aCheckpointWithAnotherTemplateStillGetsTheLlama31Rendering(@TempDir Path dir) throws Exception {
        Files.copy(TinyLlamaFixture.dir().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        ObjectNode config = (ObjectNode) ChatJson.MAPPER.readTree(TinyLlamaFixture.dir().resolve("tokenizer_config.json").toFile());
        String other = config.get("chat_template").stringValue().replace("Cutting Knowledge Date: December 2023", "Knowledge: 2024");
        config.put("chat_template", other);
        Files.writeString(dir.resolve("tokenizer_config.json"), ChatJson.MAPPER.writeValueAsString(config));
        try (LlamaTokenizer t = LlamaTokenizer.load(dir)) {
            assertThat(ChatTemplateCheck.difference(t.chatTemplate().orElseThrow())).isPresent();
            ChatFormat f = new ChatFormat(t, ChatOptions.defaults()); // logs the difference as a warning
            assertThat(f.enabled()).isTrue();
            assertThat(f.prepare(ChatInput.of(ChatJson.parse("[{\"role\":\"user\",\"content\":\"x\"}]"))).text())
                    .startsWith(SYSTEM_HEADER);
        }
    }
}
