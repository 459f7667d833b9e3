package dev.llamaserve.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llamaserve.engine.GenerationRequest;
import dev.llamaserve.engine.InvalidRequestException;
import dev.llamaserve.engine.ModelInfo;
import dev.llamaserve.engine.SamplingParams;
import java.nio.file.Files;
import java.util.List;
import java.util.Set;
import java.nio.file.Path;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/** One test per validation rule: its field, its code and the numbers in its message. */
class ChatValidationTest {

    private static final LlamaTokenizer tok = TinyLlamaFixture.tokenizer();
    private final ChatFormat chat = new ChatFormat(tok, ChatOptions.defaults());

    private static JsonNode json(String text) {
        return ChatJson.parse(text);
    }

    private ChatPrompt prepare(String messages) {
        return chat.prepare(ChatInput.of(json(messages)));
    }

    private static void assertRejected(ThrowingCallable call, String param, String code, String... messageParts) {
        assertThatThrownBy(call).isInstanceOfSatisfying(InvalidRequestException.class, e -> {
            assertThat(e.param()).isEqualTo(param);
            assertThat(e.code()).isEqualTo(code);
            assertThat(e.getMessage()).contains(messageParts);
        });
    }

    @Test
    void noMessages() {
        assertRejected(() -> chat.prepare(ChatInput.of(null)), "messages", "missing_required_parameter",
                "messages is required");
        assertRejected(() -> prepare("[]"), "messages", "empty_array", "at least 1 message", "got 0");
        assertRejected(() -> prepare("{\"role\":\"user\"}"), "messages", "invalid_type", "an object");
    }

    @Test
    void unknownRole() {
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"function\",\"content\":\"b\"}]"),
                "messages[1].role", "invalid_value",
                "messages[1].role must be one of system, developer, user, assistant, tool, ipython", "\"function\"");
        assertRejected(() -> prepare("[{\"content\":\"a\"}]"), "messages[0].role", "missing_required_parameter",
                "messages[0].role is required");
        assertRejected(() -> prepare("[{\"role\":3,\"content\":\"a\"}]"), "messages[0].role", "invalid_type",
                "must be a string; got a number");
    }

    @Test
    void contentOfTheWrongShape() {
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":42}]"), "messages[0].content", "invalid_type",
                "must be a string or an array of text parts; got a number");
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":null}]"), "messages[0].content",
                "missing_required_parameter", "messages[0].content is required for a user message");
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\"}]"),
                "messages[1].content", "missing_required_parameter",
                "messages[1].content is required for an assistant message", "null only when the message has tool_calls");
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"mystery\"}]}]"),
                "messages[0].content[1].type", "invalid_value", "must be \"text\"", "\"mystery\"");
    }

    /** A conversation replayed from OpenAI may hold refusals: the message's refusal, or refusal parts. */
    @Test
    void anAssistantsRefusalIsWhatItSaid() {
        String said = prepare("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"No.\"},"
                + "{\"role\":\"user\",\"content\":\"b\"}]").text();
        assertThat(prepare("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":null,"
                + "\"refusal\":\"No.\"},{\"role\":\"user\",\"content\":\"b\"}]").text()).isEqualTo(said);
        assertThat(prepare("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":"
                + "[{\"type\":\"refusal\",\"refusal\":\"No.\"}]},{\"role\":\"user\",\"content\":\"b\"}]").text())
                .isEqualTo(said);
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":[{\"type\":\"refusal\",\"refusal\":\"x\"}]}]"),
                "messages[0].content[0].type", "invalid_value", "must be \"text\"; got \"refusal\"");
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":"
                + "[{\"type\":\"refusal\",\"text\":\"x\"}]}]"),
                "messages[1].content[0].refusal", "missing_required_parameter", "is required");
    }

    @Test
    void imageAndAudioPartsAreNotSupported() {
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what is this?\"},"
                        + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAAA\"}}]}]"),
                "messages[0].content[1].type", "unsupported_content_type",
                "messages[0].content[1] is a part of type \"image_url\": this model takes text only (no images)");
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{}}]}]"),
                "messages[0].content[0].type", "unsupported_content_type",
                "messages[0].content[0] is a part of type \"input_audio\": this model takes text only (no audio)");
    }

    @Test
    void toolMessageMustFollowAToolCall() {
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"tool\",\"content\":\"b\"}]"),
                "messages[1].role", "invalid_value", "must follow an assistant message with tool_calls",
                "follows messages[0], a user message");
        assertRejected(() -> prepare("[{\"role\":\"ipython\",\"content\":\"b\"}]"), "messages[0].role", "invalid_value",
                "follows nothing");
        // each role with its article ("an assistant", "an ipython"), as every message names one
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},"
                        + "{\"role\":\"ipython\",\"content\":\"c\"}]"), "messages[2].role", "invalid_value",
                "an ipython message must follow an assistant message with tool_calls", "follows messages[1], an assistant message");
    }

    @Test
    void eachOfSeveralToolCallsIsCheckedUnderItsOwnIndex() {
        String call = "{\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}";
        String bad = "{\"type\":\"function\",\"function\":{\"arguments\":\"{}\"}}";
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":null,"
                        + "\"tool_calls\":[" + call + "," + bad + "]}]"),
                "messages[1].tool_calls[1].function.name", "missing_required_parameter", "is required");
        assertThat(prepare("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":null,"
                + "\"tool_calls\":[" + call + "," + call + "]},{\"role\":\"tool\",\"content\":\"1\"},"
                + "{\"role\":\"tool\",\"content\":\"2\"}]").text()).contains("ipython");
    }

    /**
     * Arguments that are no JSON (a call cut by max_tokens comes back so, and an agent's memory sends it back) are
     * written as the string they are, as tojson writes a string; empty ones are {}, as vLLM reads them.
     */
    @Test
    void toolCallArgumentsThatAreNoJsonAreWrittenAsAString() {
        assertThat(prepare("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"tool_calls\":"
                + "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"city\\\": \\\"Os\"}}]}]").text())
                .contains("{\"name\": \"f\", \"parameters\": \"{\\\"city\\\": \\\"Os\"}");
        assertThat(prepare("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"tool_calls\":"
                + "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}]").text())
                .contains("{\"name\": \"f\", \"parameters\": {}}");
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"tool_calls\":"
                        + "[{\"type\":\"function\",\"function\":{\"arguments\":\"{}\"}}]}]"),
                "messages[1].tool_calls[0].function.name", "missing_required_parameter", "is required");
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":\"a\",\"tool_calls\":[{\"function\":{\"name\":\"f\","
                        + "\"arguments\":\"{}\"}}]}]"),
                "messages[0].tool_calls", "invalid_value", "only allowed on assistant messages");
    }

    @Test
    void tooManyMessages() {
        StringBuilder m = new StringBuilder("[");
        for (int i = 0; i < 257; i++) {
            m.append(i == 0 ? "" : ",").append("{\"role\":\"user\",\"content\":\"m").append(i).append("\"}");
        }
        String messages = m.append("]").toString();
        assertRejected(() -> prepare(messages), "messages", "array_above_max_length", "messages has 257 entries",
                "the limit is 256 (llm.chat.max-messages)");
        ChatFormat small = new ChatFormat(tok, new ChatOptions("26 Jul 2024", false, 3, ChatOptions.Enabled.AUTO));
        assertRejected(() -> small.prepare(ChatInput.of(json("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\","
                        + "\"content\":\"b\"},{\"role\":\"user\",\"content\":\"c\"},{\"role\":\"assistant\",\"content\":\"d\"}]"))),
                "messages", "array_above_max_length", "messages has 4 entries", "the limit is 3");
        // 256 is accepted
        String atLimit = messages.substring(0, messages.lastIndexOf(",{")) + "]";
        assertThat(prepare(atLimit).conversation().messages()).hasSize(256);
    }

    @Test
    void contextLengthIsCheckedNeverTruncated() {
        // the rule lives in the engine's request validation, which every caller of the prompt layer goes through
        ChatInput input = ChatInput.of(json("[{\"role\":\"user\",\"content\":\"What is GQA?\"}]"));
        int[] prompt = chat.prepare(input).tokenIds();
        int promptTokens = prompt.length;
        assertThat(promptTokens).isGreaterThan(20);
        int limit = promptTokens + 10;
        assertThat(request(prompt, 10).validate(model(limit)).maxTokens()).isEqualTo(10); // exactly fits
        assertRejected(() -> request(prompt, 11).validate(model(limit)), "max_tokens", "context_length_exceeded",
                "maximum context length is " + limit + " tokens", "you requested " + (promptTokens + 11) + " tokens",
                "(" + promptTokens + " in the messages, 11 in the completion)");
        assertRejected(() -> request(prompt, null).validate(model(promptTokens)), "messages", "context_length_exceeded",
                "maximum context length is " + promptTokens + " tokens", "resulted in " + promptTokens + " tokens",
                "no room for a completion");
        assertThat(request(prompt, null).validate(model(promptTokens + 1)).maxTokens()).isEqualTo(1);
    }

    private static GenerationRequest request(int[] prompt, Integer maxTokens) {
        return new GenerationRequest("r", prompt, SamplingParams.builder().maxTokens(maxTokens).build(),
                GenerationRequest.ParamNames.CHAT);
    }

    private static ModelInfo model(int maxModelLen) {
        return new ModelInfo(maxModelLen, tok.vocabSize(), Set.of(), 1.0, 1.0, false, null);
    }

    /**
     * With tools in the first user message (the template's default), the reference takes messages[0]'s content
     * whatever its role, as vLLM renders it: a chat memory that dropped the oldest turns sends an assistant's
     * message first, and got a 400 from every request after. A tool call first has no content to take.
     */
    @Test
    void withToolsTheFirstMessagesTextIsTheToolTurnsWhateverItsRole() {
        String tools = "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{}}}]";
        String asAssistant = chat.prepare(new ChatInput(json("[{\"role\":\"system\",\"content\":\"s\"},"
                + "{\"role\":\"assistant\",\"content\":\"It is sunny.\"},{\"role\":\"user\",\"content\":\"u\"}]"),
                json(tools), true, null)).text();
        String asUser = chat.prepare(new ChatInput(json("[{\"role\":\"system\",\"content\":\"s\"},"
                + "{\"role\":\"user\",\"content\":\"It is sunny.\"},{\"role\":\"user\",\"content\":\"u\"}]"),
                json(tools), true, null)).text();
        assertThat(asAssistant).isEqualTo(asUser).contains("It is sunny.<|eot_id|><|start_header_id|>user");
        assertThat(chat.prepare(new ChatInput(json("[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"system\","
                + "\"content\":\"t\"},{\"role\":\"user\",\"content\":\"u\"}]"), json(tools), true, null)).tokenIds())
                .as("two system messages").isNotEmpty();
        assertRejected(() -> chat.prepare(new ChatInput(json("[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                        + "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                        + "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"x\"}]"), json(tools), true, null)),
                "messages[0].role", "invalid_value", "first message (there is no system message) must have text content",
                "\"tools_in_user_message\": false");
        assertRejected(() -> chat.prepare(new ChatInput(json("[{\"role\":\"system\",\"content\":\"s\"}]"), json(tools),
                        true, null)), "messages", "invalid_value", "needs a user message", "tools_in_user_message");
        // what the message offers works: the tool list goes into the system message
        assertThat(chat.prepare(new ChatInput(json("[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                + "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"x\"}]"), json(tools), true,
                json("{\"tools_in_user_message\": false}"))).tokenIds()).isNotEmpty();
        assertRejected(() -> chat.prepare(new ChatInput(json("[{\"role\":\"user\",\"content\":\"s\"}]"),
                        json("[{\"type\":\"function\",\"function\":{\"description\":\"x\"}}]"), true, null)),
                "tools[0].function.name", "missing_required_parameter", "is required");
        assertRejected(() -> chat.prepare(new ChatInput(json("[{\"role\":\"user\",\"content\":\"s\"}]"),
                        json("[{\"type\":\"retrieval\",\"function\":{\"name\":\"x\"}}]"), true, null)),
                "tools[0].type", "invalid_value", "must be \"function\"");
        // parameters that are no JSON Schema: refused, not written into the prompt as given
        assertRejected(() -> chat.prepare(new ChatInput(json("[{\"role\":\"user\",\"content\":\"s\"}]"),
                        json("[{\"type\":\"function\",\"function\":{\"name\":\"x\",\"parameters\":\"x\"}}]"), true,
                        null)),
                "tools[0].function.parameters", "invalid_type", "must be an object");
    }

    /** A tool's and a tool call's {@code type} may be null, read as absent (both are "function"); another is refused. */
    @Test
    void aNullToolTypeReadsAsAbsent() {
        String messages = "[{\"role\":\"user\",\"content\":\"s\"},{\"role\":\"assistant\",\"content\":null,"
                + "\"tool_calls\":[{\"id\":\"c1\",\"type\":null,\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"x\"}]";
        for (String type : List.of("\"type\":null,", "", "\"type\":\"function\",")) {
            String tools = "[{" + type + "\"function\":{\"name\":\"get_weather\",\"parameters\":{}}}]";
            assertThat(chat.prepare(new ChatInput(json(messages), json(tools), true, null)).text()).as(tools)
                    .contains("\"name\": \"get_weather\"");
        }
        assertRejected(() -> chat.prepare(new ChatInput(json(messages),
                        json("[{\"type\":3,\"function\":{\"name\":\"f\"}}]"), true, null)),
                "tools[0].type", "invalid_value", "must be \"function\"; got a number");
        assertRejected(() -> chat.prepare(new ChatInput(json(messages.replace("\"type\":null", "\"type\":\"tool\"")),
                        null, true, null)),
                "messages[1].tool_calls[0].type", "invalid_value", "must be \"function\"; got \"tool\"");
    }

    /** A legacy function_call in the history is named, not "content is required" (or dropped beside content). */
    @Test
    void legacyFunctionCallInHistoryIsRefusedByName() {
        for (String content : List.of("null", "\"text\"")) {
            assertRejected(() -> chat.prepare(new ChatInput(json("[{\"role\":\"user\",\"content\":\"s\"},"
                            + "{\"role\":\"assistant\",\"content\":" + content + ",\"function_call\":{\"name\":\"f\","
                            + "\"arguments\":\"{}\"}},{\"role\":\"user\",\"content\":\"t\"}]"), null, true, null)),
                    "messages[1].function_call", "unsupported_value", "tool_calls");
        }
    }

    @Test
    void templateKwargs() {
        ChatInput badDate = new ChatInput(json("[{\"role\":\"user\",\"content\":\"a\"}]"), null, true,
                json("{\"date_string\": 20240726}"));
        assertRejected(() -> chat.prepare(badDate), "chat_template_kwargs.date_string", "invalid_type", "got a number");
        ChatInput builtin = new ChatInput(json("[{\"role\":\"user\",\"content\":\"a\"}]"), null, true,
                json("{\"builtin_tools\": [\"brave_search\"]}"));
        assertRejected(() -> chat.prepare(builtin), "chat_template_kwargs.builtin_tools", "invalid_value", "not supported");
    }

    @Test
    void baseModelAnswersChatWith400(@TempDir Path dir) throws Exception {
        Files.copy(TinyLlamaFixture.dir().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        ObjectNode config = (ObjectNode) ChatJson.MAPPER.readTree(TinyLlamaFixture.dir().resolve("tokenizer_config.json").toFile());
        config.remove("chat_template");
        Files.writeString(dir.resolve("tokenizer_config.json"), ChatJson.MAPPER.writeValueAsString(config));
        try (LlamaTokenizer base = LlamaTokenizer.load(dir)) {
            assertThat(base.chatTemplate()).isEmpty();
            ChatFormat auto = new ChatFormat(base, ChatOptions.defaults());
            assertThat(auto.enabled()).isFalse();
            assertRejected(() -> auto.prepare(ChatInput.of(json("[{\"role\":\"user\",\"content\":\"a\"}]"))), null,
                    "chat_not_supported", "This model is a base model", "/v1/completions");
            ChatFormat forced = new ChatFormat(base, new ChatOptions("26 Jul 2024", false, 256, ChatOptions.Enabled.TRUE));
            assertThat(forced.enabled()).isTrue();
            assertThat(forced.prepare(ChatInput.of(json("[{\"role\":\"user\",\"content\":\"a\"}]"))).text())
                    .startsWith("<|begin_of_text|><|start_header_id|>system");
        }
        ChatFormat off = new ChatFormat(tok, new ChatOptions("26 Jul 2024", false, 256, ChatOptions.Enabled.FALSE));
        assertThat(off.enabled()).isFalse();
        assertThat(chat.enabled()).isTrue();
    }

    @Test
    void unpairedSurrogatesAreNotText() {
        assertRejected(() -> prepare("[{\"role\":\"user\",\"content\":\"a\\ud83d b\"}]"), "messages[0].content",
                "invalid_value", "unpaired UTF-16 surrogate (\\ud83d)");
        assertThat(prepare("[{\"role\":\"user\",\"content\":\"a\\ud83e\\udd99 b\"}]").text()).contains("a🦙 b");
    }
}
