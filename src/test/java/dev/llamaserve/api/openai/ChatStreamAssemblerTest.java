package dev.llamaserve.api.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llamaserve.chat.ToolCallParser;
import dev.llamaserve.chat.ToolCallStartTokens;
import dev.llamaserve.engine.EngineEvent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The SSE state machine on its own (the tiny fixture's real tokenizer gives the ids and the python tag). */
class ChatStreamAssemblerTest {

    private static final ScriptedEngine SCRIPT = new ScriptedEngine(FixtureTokenizer.get());
    private final ToolCallStartTokens startTokens = new ToolCallStartTokens(FixtureTokenizer.get());

    private ChatStreamAssembler assembler(boolean tools, boolean usage) {
        return new ChatStreamAssembler(new ChatResponses("chatcmpl-1", 7, "m"), tools, ToolCallParser.Calls.ANY, startTokens, null, usage, "req-1");
    }

    private static EngineEvent.Tokens text(String s) {
        return SCRIPT.tokens(s);
    }

    private static EngineEvent.Finished finish(EngineEvent.FinishReason reason, String tail) {
        return new EngineEvent.Finished(reason, new EngineEvent.Usage(5, 3), tail, null, null);
    }

    private static List<JsonNode> run(ChatStreamAssembler a, EngineEvent... events) {
        List<String> frames = new ArrayList<>();
        frames.add(a.start());
        for (EngineEvent e : events) {
            frames.addAll(a.onEvent(e));
        }
        assertThat(frames.get(frames.size() - 1)).isEqualTo("data: [DONE]\n\n");
        List<JsonNode> out = new ArrayList<>();
        for (String f : frames.subList(0, frames.size() - 1)) {
            assertThat(f).startsWith("data: {").endsWith("}\n\n");
            out.add(OpenAiJson.MAPPER.readTree(f.substring(6)));
        }
        return out;
    }

    private static JsonNode delta(JsonNode chunk) {
        return chunk.get("choices").get(0).get("delta");
    }

    /** The content of one {@code data: {...}} frame's delta. */
    private static String content(String frame) {
        return delta(OpenAiJson.MAPPER.readTree(frame.substring(6))).get("content").asString();
    }

    @Test
    void withoutToolsEveryDeltaGoesOutAtOnceAndTheTailIsReleased() {
        ChatStreamAssembler a = assembler(false, false);
        assertThat(a.onEvent(text("{"))).hasSize(1);
        assertThat(a.onEvent(new EngineEvent.Tokens(new int[] {65}, "", List.of()))).isEmpty();
        List<String> end = a.onEvent(finish(EngineEvent.FinishReason.LENGTH, "\uFFFD"));
        assertThat(end).hasSize(3);
        assertThat(end.get(0)).contains("\"content\":\"\uFFFD\"");
        assertThat(end.get(1)).contains("\"finish_reason\":\"length\"");
    }

    @Test
    void withToolsWhitespaceOnlyOutputIsContentAtTheEnd() {
        List<JsonNode> chunks = run(assembler(true, false), text("\n"), text(" "), finish(EngineEvent.FinishReason.STOP, ""));
        assertThat(chunks).hasSize(3);
        assertThat(delta(chunks.get(1)).get("content").asString()).isEqualTo("\n ");
        assertThat(chunks.get(2).get("choices").get(0).get("finish_reason").asString()).isEqualTo("stop");
    }

    /** A call cut by max_tokens: a partial call and "length", as OpenAI; the call syntax never goes out as text. */
    @Test
    void aCallCutByMaxTokensIsAPartialCallWithFinishReasonLength() {
        List<JsonNode> chunks = run(assembler(true, false), text("{\"name\": \"f\","), text(" \"parameters\": {\"a\": \"b"),
                finish(EngineEvent.FinishReason.LENGTH, ""));
        assertThat(chunks).hasSize(3);
        JsonNode call = delta(chunks.get(1)).get("tool_calls").get(0);
        assertThat(call.get("function").get("name").asString()).isEqualTo("f");
        assertThat(call.get("function").get("arguments").asString()).isEqualTo("{\"a\": \"b");
        assertThat(chunks.get(2).get("choices").get(0).get("finish_reason").asString()).isEqualTo("length");
        assertThat(chunks.toString()).doesNotContain("\"content\":\"{");
    }

    /**
     * Cut before its name was whole: no tool_calls entry (OpenAI never streams an empty name, and Spring AI's client
     * throws on one) and no call syntax as content, after the tag or without it; the finish reason stays "length".
     */
    @Test
    void aCallCutBeforeItsNameIsNoCallAndNoContent() {
        List<JsonNode> bare = run(assembler(true, false), text("{\"name\": \"lo"), finish(EngineEvent.FinishReason.LENGTH, ""));
        List<JsonNode> tagged = run(assembler(true, false), SCRIPT.pythonTagToken(), text("{\"na"),
                finish(EngineEvent.FinishReason.LENGTH, ""));
        for (List<JsonNode> chunks : List.of(bare, tagged)) {
            assertThat(chunks).as(chunks.toString()).hasSize(2);
            assertThat(delta(chunks.get(1)).get("tool_calls")).isNull();
            assertThat(delta(chunks.get(1)).get("content")).isNull();
            assertThat(chunks.get(1).get("choices").get(0).get("finish_reason").asString()).isEqualTo("length");
        }
        // with logprobs, the held tokens' entries still go out, as the non-streamed answer lists them
        ChatStreamAssembler withLogprobs = new ChatStreamAssembler(new ChatResponses("chatcmpl-1", 7, "m"), true,
                ToolCallParser.Calls.ANY, startTokens, new LogprobsRenderer(FixtureTokenizer.get(), false, 0), false,
                "req-1");
        List<EngineEvent> events = new ArrayList<>();
        for (char ch : "{\"na".toCharArray()) {
            int id = FixtureTokenizer.byteToken(FixtureTokenizer.get(), ch);
            events.add(new EngineEvent.Tokens(new int[] {id}, String.valueOf(ch),
                    List.of(new EngineEvent.TokenLogprob(id, -1f, List.of()))));
        }
        events.add(finish(EngineEvent.FinishReason.LENGTH, ""));
        List<JsonNode> chunks = run(withLogprobs, events.toArray(EngineEvent[]::new));
        assertThat(chunks).as("role, logprobs, finish").hasSize(3);
        assertThat(delta(chunks.get(1)).isEmpty()).isTrue();
        assertThat(chunks.get(1).get("choices").get(0).get("logprobs").get("content"))
                .extracting(e -> e.get("token").asString()).containsExactly("{", "\"", "n", "a");
    }

    @Test
    void withToolsJsonStartIsHeldUntilTheEnd() {
        ChatStreamAssembler a = assembler(true, true);
        assertThat(a.onEvent(text("{\"name\": \"f\","))).isEmpty();
        assertThat(a.onEvent(text(" \"parameters\": {\"a\": \"b\"}"))).isEmpty();
        List<String> end = a.onEvent(finish(EngineEvent.FinishReason.STOP, "}"));
        assertThat(end).hasSize(4);
        JsonNode call = OpenAiJson.MAPPER.readTree(end.get(0).substring(6));
        assertThat(delta(call).get("tool_calls").get(0).get("function").get("arguments").asString())
                .isEqualTo("{\"a\":\"b\"}");
        assertThat(end.get(1)).contains("\"finish_reason\":\"tool_calls\"");
        JsonNode usage = OpenAiJson.MAPPER.readTree(end.get(2).substring(6));
        assertThat(usage.get("choices")).isEmpty();
        assertThat(usage.get("usage").get("total_tokens").asInt()).isEqualTo(8);
        assertThat(a.finishReason()).isEqualTo("tool_calls");
    }

    /** A JSON answer (a response_format with tools) is known not to be a call at its first key: it streams. */
    @Test
    void withToolsAJsonAnswerStreamsFromItsFirstKey() {
        ChatStreamAssembler a = assembler(true, false);
        assertThat(a.onEvent(text(" {"))).isEmpty();
        assertThat(a.onEvent(text("\"na"))).as("may still be \"name\"").isEmpty();
        List<String> first = a.onEvent(text("me_of_city\": \"Oslo"));
        assertThat(first).hasSize(1);
        assertThat(content(first.get(0))).isEqualTo(" {\"name_of_city\": \"Oslo");
        assertThat(a.onEvent(text("\"}"))).hasSize(1);
        List<String> end = a.onEvent(finish(EngineEvent.FinishReason.STOP, ""));
        assertThat(end.get(0)).contains("\"finish_reason\":\"stop\"");
    }

    @Test
    void lengthCutToolCallAfterTheTagIsAPartialCallWithLength() {
        List<JsonNode> chunks = run(assembler(true, false), SCRIPT.pythonTagToken(), text("{\"name\": \"f\", \"param"), finish(EngineEvent.FinishReason.LENGTH, ""));
        assertThat(chunks).hasSize(3);
        JsonNode call = delta(chunks.get(1)).get("tool_calls").get(0).get("function");
        assertThat(call.get("name").asString()).isEqualTo("f");
        assertThat(call.get("arguments").asString()).as("cut before its parameters").isEmpty();
        assertThat(delta(chunks.get(1)).get("content")).isNull();
        assertThat(chunks.get(2).get("choices").get(0).get("finish_reason").asString()).isEqualTo("length");
    }

    /** After the tag a call's keys may come in any order ("type" first): a call streamed and not, as vLLM reads it. */
    @Test
    void aCallAfterTheTagMayPutItsKeysInAnyOrder() {
        String call = "{\"type\": \"function\", \"name\": \"f\", \"parameters\": {\"a\": 1}}";
        List<JsonNode> chunks = run(assembler(true, false), SCRIPT.pythonTagToken(), text(call),
                finish(EngineEvent.FinishReason.STOP, ""));
        assertThat(chunks).hasSize(3);
        assertThat(delta(chunks.get(1)).get("content")).isNull();
        JsonNode function = delta(chunks.get(1)).get("tool_calls").get(0).get("function");
        assertThat(function.get("name").asString()).isEqualTo("f");
        assertThat(function.get("arguments").asString()).isEqualTo("{\"a\":1}");
        assertThat(chunks.get(2).get("choices").get(0).get("finish_reason").asString()).isEqualTo("tool_calls");

        ChatCompletionCollector collector = new ChatCompletionCollector(new ChatResponses("chatcmpl-1", 7, "m"), true,
                ToolCallParser.Calls.ANY, startTokens, null, "req-1");
        collector.onTokens(SCRIPT.pythonTagToken());
        collector.onTokens(text(call));
        ChatWire.Choice choice = collector.choice(finish(EngineEvent.FinishReason.STOP, ""));
        assertThat(choice.message().content()).isNull();
        assertThat(choice.message().toolCalls()).singleElement().satisfies(c -> {
            assertThat(c.function().name()).isEqualTo("f");
            assertThat(c.function().arguments()).isEqualTo("{\"a\":1}");
        });
        assertThat(choice.finishReason()).isEqualTo("tool_calls");
    }

    /** Blank text before the tag is the answer's when what follows is no call: streamed equals non-streamed. */
    @Test
    void blankTextBeforeATagThatStartsNoCallStaysInTheContent() {
        List<JsonNode> chunks = run(assembler(true, false), text("\n"), SCRIPT.pythonTagToken(), text("\n"),
                finish(EngineEvent.FinishReason.LENGTH, ""));
        StringBuilder content = new StringBuilder();
        for (JsonNode c : chunks.subList(1, chunks.size())) {
            JsonNode d = delta(c);
            assertThat(d.get("tool_calls")).isNull();
            if (d.has("content")) {
                content.append(d.get("content").asString());
            }
        }
        ChatCompletionCollector collector = new ChatCompletionCollector(new ChatResponses("chatcmpl-1", 7, "m"), true, ToolCallParser.Calls.ANY,
                startTokens, null, "req-1");
        collector.onTokens(text("\n"));
        collector.onTokens(SCRIPT.pythonTagToken());
        collector.onTokens(text("\n"));
        String whole = collector.finish(finish(EngineEvent.FinishReason.LENGTH, "")).choices().get(0).message().content();
        assertThat(whole).isEqualTo("\n\n");
        assertThat(content.toString()).isEqualTo(whole);
    }

    /** With blank text before the tag and a call after it, the answer is the call alone. */
    @Test
    void blankTextBeforeATaggedCallIsNoContent() {
        List<JsonNode> chunks = run(assembler(true, false), text("\n"), SCRIPT.pythonTagToken(),
                text("{\"name\": \"f\", \"parameters\": {}}"), finish(EngineEvent.FinishReason.STOP, ""));
        assertThat(chunks).hasSize(3);
        assertThat(delta(chunks.get(1)).get("content")).isNull();
        assertThat(delta(chunks.get(1)).get("tool_calls").get(0).get("function").get("name").asString()).isEqualTo("f");
        assertThat(chunks.get(2).get("choices").get(0).get("finish_reason").asString()).isEqualTo("tool_calls");
    }

    @Test
    void withParallelCallsOffTheStreamCarriesTheFirstCallOnly() {
        ChatStreamAssembler a = new ChatStreamAssembler(new ChatResponses("chatcmpl-1", 7, "m"), true, new ToolCallParser.Calls(null, false),
                startTokens, null, false, "req-1");
        List<JsonNode> chunks = run(a, text("{\"name\": \"f\", \"parameters\": {}}; "),
                text("{\"name\": \"g\", \"parameters\": {}}"), finish(EngineEvent.FinishReason.STOP, ""));
        assertThat(chunks).hasSize(3);
        assertThat(delta(chunks.get(1)).get("tool_calls")).hasSize(1);
        assertThat(delta(chunks.get(1)).get("tool_calls").get(0).get("function").get("name").asString()).isEqualTo("f");
        assertThat(chunks.get(2).get("choices").get(0).get("finish_reason").asString()).isEqualTo("tool_calls");
    }

    /** A JSON answer whose "name" is no tool's (a response_format next to tools) streams once its name is whole. */
    @Test
    void anAnswerNamingNoToolStreamsOnceItsNameIsWhole() {
        ChatStreamAssembler a = new ChatStreamAssembler(new ChatResponses("chatcmpl-1", 7, "m"), true,
                new ToolCallParser.Calls(java.util.Set.of("get_time"), true), startTokens, null, false, "req-1");
        a.start();
        assertThat(a.onEvent(text("{\"name\": \"Ad"))).as("may still be a call").isEmpty();
        List<String> released = a.onEvent(text("a\", \"age"));
        assertThat(released).hasSize(1);
        assertThat(content(released.get(0))).isEqualTo("{\"name\": \"Ada\", \"age");
        assertThat(a.onEvent(text("\": 36}"))).hasSize(1);
        List<String> end = a.onEvent(finish(EngineEvent.FinishReason.STOP, ""));
        assertThat(end.get(0)).contains("\"finish_reason\":\"stop\"");
    }

    /**
     * Beside a response_format whose answer has "name" and "parameters": an answer naming a tool is held, as a call
     * may be, and at its end is the answer's content where the calls' grammar did not write it; a call it wrote is one.
     */
    @Test
    void anAnswerThatOnlyLooksLikeACallIsContentAtItsEnd() {
        ToolCallParser.Calls calls = ToolCallParser.Calls.of(lookalikeAnswer(), true);
        ChatStreamAssembler a = new ChatStreamAssembler(new ChatResponses("chatcmpl-1", 7, "m"), true, calls,
                startTokens, null, false, "req-1");
        a.start();
        assertThat(a.onEvent(text("{\"name\": \"get_time\", "))).as("may be a call").isEmpty();
        assertThat(a.onEvent(text("\"parameters\": {\"town\": 7}}"))).isEmpty();
        List<String> end = a.onEvent(finish(EngineEvent.FinishReason.STOP, ""));
        assertThat(end).noneMatch(f -> f.contains("tool_calls"));
        assertThat(content(end.get(0))).isEqualTo("{\"name\": \"get_time\", \"parameters\": {\"town\": 7}}");
        assertThat(end.get(1)).contains("\"finish_reason\":\"stop\"");

        List<JsonNode> call = run(new ChatStreamAssembler(new ChatResponses("chatcmpl-1", 7, "m"), true, calls,
                startTokens, null, false, "req-1"), text("{\"name\": \"get_time\", "),
                text("\"parameters\": {\"city\": \"Oslo\"}}"), finish(EngineEvent.FinishReason.STOP, ""));
        assertThat(delta(call.get(1)).get("tool_calls").get(0).get("function").get("arguments").asString())
                .isEqualTo("{\"city\":\"Oslo\"}");
        assertThat(call.get(2).get("choices").get(0).get("finish_reason").asString()).isEqualTo("tool_calls");
    }

    /** get_time's city alone, or an answer with "name" and free-form "parameters". */
    static dev.llamaserve.engine.OutputConstraint.ToolCallsOrAnswer lookalikeAnswer() {
        return new dev.llamaserve.engine.OutputConstraint.ToolCallsOrAnswer(
                new dev.llamaserve.engine.OutputConstraint.ToolCalls(List.of(new dev.llamaserve.engine.OutputConstraint
                        .Function("get_time", OpenAiJson.MAPPER.readTree("{\"type\": \"object\", \"properties\": "
                        + "{\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"], "
                        + "\"additionalProperties\": false}"))), true),
                new dev.llamaserve.engine.OutputConstraint.JsonSchema("lookalike", OpenAiJson.MAPPER.readTree(
                        "{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}, "
                        + "\"parameters\": {\"type\": \"object\"}}, \"required\": [\"name\", \"parameters\"]}")));
    }

    /**
     * The end token's event (no text, its logprob) sends no chunk and no entry: streamed or not, the entries' bytes
     * are the content.
     */
    @Test
    void theEndTokenSendsNoChunkAndNoLogprobsEntry() {
        int eot = FixtureTokenizer.get().addedTokenId("<|eot_id|>").orElseThrow();
        List<EngineEvent.Tokens> events = new ArrayList<>();
        for (char ch : "Hi".toCharArray()) {
            int id = FixtureTokenizer.byteToken(FixtureTokenizer.get(), ch);
            events.add(new EngineEvent.Tokens(new int[] {id}, String.valueOf(ch),
                    List.of(new EngineEvent.TokenLogprob(id, -1f, List.of()))));
        }
        events.add(new EngineEvent.Tokens(new int[] {eot}, "", List.of(new EngineEvent.TokenLogprob(eot, -0.1f, List.of()))));
        LogprobsRenderer renderer = new LogprobsRenderer(FixtureTokenizer.get(), false, 0);

        ChatStreamAssembler a = new ChatStreamAssembler(new ChatResponses("chatcmpl-1", 7, "m"), false,
                ToolCallParser.Calls.ANY, startTokens, renderer, false, "req-1");
        List<EngineEvent> all = new ArrayList<>(events);
        all.add(finish(EngineEvent.FinishReason.STOP, ""));
        List<JsonNode> chunks = run(a, all.toArray(EngineEvent[]::new));
        assertThat(chunks).as("role, H, i, finish").hasSize(4);
        StringBuilder streamedBytes = new StringBuilder();
        for (JsonNode c : chunks.subList(1, 3)) {
            for (JsonNode e : c.get("choices").get(0).get("logprobs").get("content")) {
                e.get("bytes").forEach(b -> streamedBytes.append((char) b.asInt()));
            }
        }
        assertThat(streamedBytes.toString()).isEqualTo("Hi");
        assertThat(chunks.get(3).get("choices").get(0).get("finish_reason").asString()).isEqualTo("stop");

        ChatCompletionCollector collector = new ChatCompletionCollector(new ChatResponses("chatcmpl-1", 7, "m"), false,
                ToolCallParser.Calls.ANY, startTokens, renderer, "req-1");
        events.forEach(collector::onTokens);
        ChatWire.Choice choice = collector.choice(finish(EngineEvent.FinishReason.STOP, ""));
        assertThat(choice.message().content()).isEqualTo("Hi");
        assertThat(choice.logprobs().content()).extracting(ChatWire.TokenLogprob::token).containsExactly("H", "i");
    }

    @Test
    void abortIsAnErrorEvent() {
        ChatStreamAssembler a = assembler(false, true);
        a.onEvent(text("x"));
        List<String> end = a.onEvent(finish(EngineEvent.FinishReason.ABORT, ""));
        assertThat(end).hasSize(2);
        assertThat(end.get(0)).as("an error event, which LangChain4j needs to see an error")
                .startsWith("event: error\ndata: {\"error\":{").contains("\"code\":\"aborted\"");
        assertThat(end.get(1)).isEqualTo("data: [DONE]\n\n");
        assertThat(a.onEvent(text("late"))).isEmpty();
    }
}
